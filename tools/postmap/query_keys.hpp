// Where the keys of `postmap -q -` and `-d -` come from: standard input, one key per line,
// or (postmap -h / -b) the logical header lines and body lines of a message on standard
// input, so that an administrator can test header_checks and body_checks tables.
//
// The message is untrusted text (often a spam sample): lines of any length and any bytes.
// Header syntax follows Postfix's reading of RFC 5322 without MIME (-m is not supported):
// a header is NAME: value, where NAME is printable ASCII other than ':' and may be followed
// by white space before the colon (the key then has the colon right after the name, as
// Postfix rewrites it); a line that starts with white space continues the header before
// it (the key keeps the newline); the first other line ends the headers. With -b that line
// and every one after it is a body key; when the headers did not end with an empty line,
// an empty body line is inserted first, as Postfix's message parser does.
#pragma once

#include <deque>
#include <istream>
#include <string>

namespace postern::table_tool {

class QueryKeys {
  public:
    enum class Kind { lines, message };

    // `header_keys` and `body_keys` apply to Kind::message only.
    QueryKeys(std::istream& input, Kind kind, bool header_keys = false, bool body_keys = false)
        : input_(input), kind_(kind), header_keys_(header_keys), body_keys_(body_keys) {}

    // The next key; false at the end of the input.
    bool next(std::string& key);

  private:
    bool next_message_key(std::string& key);
    // Reads one line of the message and queues the keys it completes; false at the end.
    bool read_message_line();
    void end_of_headers(const std::string& line);
    void flush_header();

    std::istream& input_;
    Kind kind_;
    bool header_keys_;
    bool body_keys_;
    bool in_headers_ = true;
    bool done_ = false;
    std::string header_;  // the header being collected, empty when none
    std::deque<std::string> ready_;
};

}  // namespace postern::table_tool
