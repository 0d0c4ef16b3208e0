// texthash: tables; see texthash_map.hpp.
#include "maps/texthash_map.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>

#include "maps/map_openers.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

class TexthashMap final : public Map {
  public:
    TexthashMap(std::string_view name, MapFlag flags, std::optional<FileIdentity> identity)
        : Map("texthash", std::string(name), flags, MapKeyKind::fixed),
          identity_(std::move(identity)) {}

    // One source entry, keys folded as lookups fold them.
    Status add(const TableSourceEntry& entry) {
        std::string key = folded_key(entry.key);
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            entries_.emplace(std::move(key), entry.value);
            return {};
        }
        std::string where = name() + ", line " + std::to_string(entry.line);
        auto replace = resolve_duplicate(flags(), where, entry.key);
        if (!replace)
            return replace.error();
        if (*replace)
            it->second = entry.value;
        return {};
    }

    bool changed_on_disk() const override { return identity_ && identity_->changed(name()); }

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override {
        auto it = entries_.find(std::string(key));
        if (it == entries_.end())
            return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    }

    Status do_for_each(
        const std::function<Status(std::string_view, std::string_view)>& visit) override {
        for (const auto& [key, value] : entries_)
            if (Status status = visit(key, value); !status.ok())
                return status;
        return {};
    }

  private:
    std::unordered_map<std::string, std::string> entries_;
    std::optional<FileIdentity> identity_;
};

struct SourceFile {
    std::string text;
    FileIdentity identity;
};

// Reads the whole file and the identity of exactly what was read. Postfix's words:
// "open database NAME: No such file or directory".
Result<SourceFile> read_source(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        int saved = errno;
        Error error = system_error("open database " + path, saved);
        return Error(saved == ENOENT ? ErrorKind::not_found : ErrorKind::io, error.message());
    }
    auto identity = FileIdentity::of_fd(fd.get(), path);
    if (!identity)
        return identity.error();
    SourceFile source{{}, *identity};
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0)
            return source;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return system_error("read " + path, errno);
        source.text.append(buffer, static_cast<size_t>(n));
    }
}

}  // namespace

Result<std::unique_ptr<Map>> make_texthash_map(std::string_view name, std::string_view text,
                                               const MapOpenOptions& options,
                                               const TableWarning& warn,
                                               std::optional<FileIdentity> identity) {
    auto map = std::make_unique<TexthashMap>(name, options.flags, std::move(identity));
    TableSourceOptions source_options;
    source_options.check_utf8 = has_flag(options.flags, MapFlag::utf8_keys);
    Status status = parse_table_source(
        text, name, source_options, [&](const TableSourceEntry& entry) { return map->add(entry); },
        warn);
    if (!status.ok())
        return status.error();
    return std::unique_ptr<Map>(std::move(map));
}

MapOpenResult open_texthash_map(std::string_view name, const MapOpenOptions& options) {
    if (options.access != MapAccess::read_only)
        return Error(ErrorKind::config,
                     "texthash:" + std::string(name) + " map requires O_RDONLY access mode");
    auto source = read_source(std::string(name));
    if (!source)
        return source.error();
    return make_texthash_map(
        name, source->text, options,
        [](const std::string& text) { log_warning("%s", text.c_str()); }, source->identity);
}

}  // namespace postern
