// Mail forwarding loops: the Delivered-To: headers a message already carries.
//
// Where it sits: local/, read once per delivery request from the queue file's primary
// header (the content up to the first empty line; the header is the network's, so it is
// bounded: at most kMaxDeliveredHeaders addresses are kept). local(8) adds
// "Delivered-To: rcpt" to every message it delivers or forwards; a message that comes
// back for an address it already shows has gone round in a loop and is bounced with
// "5.4.6 mail forwarding loop for ADDRESS" (RFC 3463: routing loop detected).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern::local {

inline constexpr size_t kMaxDeliveredHeaders = 1000;

class DeliveredToHeaders {
  public:
    // Reads the headers of the queue file at `queue_path`.
    static Result<DeliveredToHeaders> read(const std::string& queue_path);
    // From header text ("Name: value\n" lines), for tests.
    static DeliveredToHeaders from_header_lines(std::string_view headers);

    // True when a Delivered-To: header names `address` (internal form), compared as
    // Postfix does: both in external form, case folded.
    bool contains(std::string_view address) const;
    size_t size() const { return addresses_.size(); }

  private:
    void add_header_line(std::string_view line);

    std::set<std::string, std::less<>> addresses_;
};

}  // namespace postern::local
