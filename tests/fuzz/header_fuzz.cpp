// libFuzzer target: header: message content (lib/mail/header). Input is an arbitrary
// message; its lines go through the MIME-aware content splitter with small limits (header
// size, nesting, boundary length), in whole lines and in pieces, as cleanup feeds it. Every
// header handed on must respect the size limit, and nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view message(reinterpret_cast<const char*>(data), size);
    postern::ContentSplitterOptions options;
    options.header_size_limit = 200;
    options.mime_nesting_limit = 5;
    options.mime_boundary_length_limit = 20;
    options.report_nesting = true;
    postern::ContentSplitterEvents events;
    events.header = [&](postern::HeaderClass, const postern::HeaderInfo*, std::string& header) {
        if (header.size() > options.header_size_limit)
            std::abort();
        (void)postern::header_output_lines(header, options.header_size_limit);
        (void)postern::fold_address_header(header);
    };
    postern::ContentSplitter splitter(options, events);
    // Lines end at '\n'; a line longer than 64 bytes goes in pieces, as L records do.
    while (!message.empty()) {
        size_t end = message.find('\n');
        std::string_view line = message.substr(0, end);
        message.remove_prefix(end == std::string_view::npos ? message.size() : end + 1);
        while (line.size() > 64) {
            splitter.add(line.substr(0, 64), false);
            line.remove_prefix(64);
        }
        splitter.add(line, true);
    }
    splitter.finish();
    return 0;
}
