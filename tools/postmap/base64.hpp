// Base64 (RFC 4648, standard alphabet, with padding) for postmap -F, which stores the
// content of files (certificate chains for tls_server_sni_maps) as base64 values.
// Decoding is strict, as Postfix's: a length that is not a multiple of four, a character
// outside the alphabet or misplaced padding is malformed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::table_tool {

std::string base64_encode(std::string_view data);
// nullopt when `text` is not well-formed base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace postern::table_tool
