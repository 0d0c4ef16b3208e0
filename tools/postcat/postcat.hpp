// postcat: show queue files, compatible with Postfix 3.7's postcat [-bdehoqrv]
// [-c config_dir] [-s offset] [files...].
//
// In the mail flow it is the administrator's window into one message: it reads a queue
// file (by path, by queue ID with -q, or standard input) and prints its records by name,
// the envelope, the message header and body, and the extracted records, with Postfix's
// section markers:
//
//   *** ENVELOPE RECORDS deferred/B/BB0EDA7214E ***
//   message_size:             266             358               2               0 ...
//   message_arrival_time: Thu Dec  3 08:54:52 2026
//   sender: alice@example.com
//   recipient: bob@example.com
//   *** MESSAGE CONTENTS deferred/B/BB0EDA7214E ***
//   Subject: ...
//   *** HEADER EXTRACTED deferred/B/BB0EDA7214E ***
//   *** MESSAGE FILE END deferred/B/BB0EDA7214E ***
//
// Runs as its caller (usually root); it only reads. The file is untrusted: any record
// sequence is shown as Postfix shows it, content bytes as they are; a record that cannot
// be read ends the command with "warning: NAME: <why>" and "fatal: record read error".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace postern::postcat {

struct Options {
    bool body = false;             // -b
    bool envelope = false;         // -e
    bool header = false;           // -h
    bool decimal = false;          // -d: the record type in decimal before each record
    bool offsets = false;          // -o: the file offset before each record
    bool raw = false;              // -r: file order (see postcat.cpp)
    bool search_queue = false;     // -q
    std::optional<int64_t> start;  // -s OFFSET
    std::string config_directory;  // -c
    int verbose = 0;               // -v
};

// Prints the queue file open on `fd`, named `name` in the output. ErrorKind::corrupt for
// a record that could not be read (the warning is already logged); an I/O error writing
// standard output otherwise.
Status print_queue_file(const Options& options, int fd, const std::string& name);

}  // namespace postern::postcat
