// libFuzzer target: the attribute protocol's decoders (lib/ipc/attr.hpp), the code that
// reads what another daemon sent. Nothing may crash, hang, leak or read past the input,
// and whatever decodes must re-encode to a frame that decodes to the same list again.
//
// Input: one control byte, then the byte stream. The control byte's low two bits pick a
// set of limits (small ones reach every limit check quickly); the rest seeds the piece
// sizes in which the stream is fed to the incremental decoder.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/attr.hpp"

namespace {

using postern::AttrFrameDecoder;
using postern::AttrLimits;
using postern::AttrList;

void require(bool condition) {
    if (!condition)
        std::abort();
}

AttrLimits limits_for(uint8_t control) {
    switch (control & 3) {
        case 1:
            return {256, 8, 8, 4};
        case 2:
            return {32, 2, 2, 1};
        case 3:
            return {4096, 64, 32, 64};
        default:
            return {};
    }
}

// A decoded list re-encodes (it already fit the limits once), and the result is stable.
void check_round_trip(const AttrList& list, const AttrLimits& limits, size_t original_size) {
    auto frame = postern::encode_attr_frame(list, limits);
    require(frame.ok());
    require(frame->size() == original_size);  // hash order aside, encoding is canonical
    auto again = postern::decode_attr_frame(*frame, limits);
    require(again.ok());
    require(*again == list);
    auto twice = postern::encode_attr_frame(*again, limits);
    require(twice.ok() && *twice == *frame);
}

struct Outcome {
    std::vector<AttrList> frames;
    std::string error;  // empty when the stream ended cleanly or mid-frame
    size_t buffered = 0;
};

// Feeds `stream` in pieces whose sizes come from `seed` (all at once without one),
// draining frames after each piece.
Outcome decode_in_pieces(std::string_view stream, const AttrLimits& limits,
                         std::optional<uint32_t> seed) {
    AttrFrameDecoder decoder(limits);
    Outcome outcome;
    size_t at = 0;
    while (at < stream.size() && outcome.error.empty()) {
        size_t piece = stream.size();
        if (seed) {
            *seed = *seed * 1103515245u + 12345u;
            piece = 1 + (*seed >> 16) % 97;
        }
        piece = std::min(piece, stream.size() - at);
        decoder.feed(stream.substr(at, piece));
        at += piece;
        for (;;) {
            auto frame = decoder.next();
            if (!frame) {
                require(frame.error().kind() == postern::ErrorKind::protocol);
                outcome.error = frame.error().message();
                break;
            }
            if (!*frame)
                break;
            outcome.frames.push_back(std::move(**frame));
        }
    }
    outcome.buffered = decoder.buffered();
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0)
        return 0;
    AttrLimits limits = limits_for(data[0]);
    std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

    auto whole = postern::decode_attr_frame(stream, limits);
    if (whole)
        check_round_trip(*whole, limits, stream.size());
    else
        require(whole.error().kind() == postern::ErrorKind::protocol);

    Outcome pieces = decode_in_pieces(stream, limits, uint32_t{data[0]} >> 2);
    Outcome at_once = decode_in_pieces(stream, limits, std::nullopt);
    require(pieces.frames == at_once.frames);
    require(pieces.error == at_once.error);
    if (pieces.error.empty())
        require(pieces.buffered == at_once.buffered);
    if (whole)
        require(pieces.frames.size() == 1 && *whole == pieces.frames[0] && pieces.buffered == 0);
    for (const AttrList& frame : pieces.frames) {
        auto encoded = postern::encode_attr_frame(frame, limits);
        require(encoded.ok());
        check_round_trip(frame, limits, encoded->size());
    }
    return 0;
}
