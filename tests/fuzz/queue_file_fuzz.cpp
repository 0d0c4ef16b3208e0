// libFuzzer target: the queue file reader (lib/queue/queue_file.hpp), which reads files that
// a crashed writer, a full disk, another MTA or an attacker with spool access may have left.
// Nothing may crash, hang, leak or read past the input; every failure is a corrupt error;
// whatever reads must be self-consistent (recipient offsets point at recipient records,
// content lies where the size record says).
//
// Input: the bytes of a queue file (the corpus holds real Postfix and Postern files). Each
// input is read twice: with the default record limit and with a small one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/queue_file.hpp"

namespace {

using postern::ErrorKind;

void require(bool condition) {
    if (!condition)
        std::abort();
}

void check_records(std::string_view bytes, size_t limit) {
    auto records = postern::RecordReader::from_memory(bytes, "fuzz", limit);
    int64_t previous_end = 0;
    for (;;) {
        auto record = records.next();
        if (!record) {
            require(record.error().kind() == ErrorKind::corrupt);
            return;
        }
        if (!*record)
            break;
        require((*record)->offset == previous_end);
        require((*record)->data.size() <= limit);
        require((*record)->data.data() >= bytes.data() &&
                (*record)->data.data() + (*record)->data.size() <= bytes.data() + bytes.size());
        previous_end = records.offset();
    }
    require(previous_end == static_cast<int64_t>(bytes.size()));
}

void check_queue_file(std::string_view bytes, size_t limit) {
    auto reader = postern::QueueFileReader::from_memory(bytes, "fuzz", limit);
    auto contents = postern::read_queue_file(reader);
    if (!contents) {
        require(contents.error().kind() == ErrorKind::corrupt);
        require(contents.error().message().rfind("fuzz: ", 0) == 0);
        return;
    }
    const postern::QueueEnvelope& envelope = contents->envelope;
    require(envelope.size.content_offset > 0);
    require(envelope.size.content_offset + envelope.size.content_size <=
            static_cast<int64_t>(bytes.size()));
    require(bytes[static_cast<size_t>(envelope.size.content_offset + envelope.size.content_size)] ==
            'X');
    for (const postern::QueueRecipient& recipient : envelope.recipients) {
        require(recipient.offset >= 0 && recipient.offset < static_cast<int64_t>(bytes.size()));
        char type = bytes[static_cast<size_t>(recipient.offset)];
        require(type == 'R' || type == 'D' || type == '/');
        require(!recipient.address.empty());
    }
    // The content alone, without the envelope first, reads the same.
    auto again = postern::QueueFileReader::from_memory(bytes, "fuzz", limit);
    size_t line = 0;
    std::string text;
    for (;;) {
        auto piece = again.next_content();
        require(piece.ok());
        if (!*piece)
            break;
        text.append((*piece)->data);
        if ((*piece)->end_of_line) {
            require(line < contents->lines.size() && contents->lines[line] == text);
            ++line;
            text.clear();
        }
    }
    require(line + (text.empty() ? 0 : 1) == contents->lines.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    for (size_t limit : {postern::kDefaultMaxRecordLength, size_t{256}}) {
        check_records(bytes, limit);
        check_queue_file(bytes, limit);
    }
    return 0;
}
