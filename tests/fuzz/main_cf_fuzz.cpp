// libFuzzer target: main.cf parsing and $name expansion of every value it yields.
// Input is an arbitrary main.cf; nothing it contains may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "config/expand.hpp"
#include "config/main_cf.hpp"

namespace {

class EntrySource : public postern::ParameterSource {
  public:
    explicit EntrySource(const postern::MainCf& config) {
        for (const auto& entry : config.entries)
            values_[entry.name] = entry.value;
    }
    std::optional<std::string_view> raw_value(std::string_view name) const override {
        auto it = values_.find(name);
        if (it == values_.end())
            return std::nullopt;
        return it->second;
    }

  private:
    std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = postern::parse_main_cf(text, "fuzz/main.cf");
    if (!parsed)
        return 0;
    EntrySource source(*parsed);
    for (const auto& entry : parsed->entries) {
        auto expanded = postern::expand_value(entry.value, source);
        (void)expanded;
    }
    return 0;
}
