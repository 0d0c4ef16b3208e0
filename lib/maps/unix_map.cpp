// unix:passwd.byname and unix:group.byname: the system's user and group databases as
// lookup tables (getpwnam_r/getgrnam_r, so NSS sources such as LDAP answer too).
//
// Where it sits: lib/maps, behind the Map interface; used in local_recipient_maps
// (`unix:passwd.byname $alias_maps`) to tell smtpd which local users exist. The key is a
// user or group name from the network (the recipient's local part); it goes to the NSS
// lookup only, as a C string. The answers are the lines Postfix returns:
//   passwd.byname  name:passwd:uid:gid:gecos:dir:shell   ("root:x:0:0:root:/root:/bin/bash")
//   group.byname   name:passwd:gid:member,member          ("ssl-cert:x:103:postgres")
// Read-only, as in Postfix ("unix:NAME map requires O_RDONLY access mode"); an NSS failure
// other than "no such entry" is a temporary error.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "maps/map_openers.hpp"

namespace postern {

namespace {

// The buffer getpw*_r/getgr*_r fill; doubled while they answer ERANGE (large groups).
constexpr size_t kInitialBuffer = 4096;
constexpr size_t kMaximumBuffer = 1 << 22;

enum class UnixTable { passwd, group };

std::string passwd_line(const struct passwd& pw) {
    return std::string(pw.pw_name) + ":" + pw.pw_passwd + ":" + std::to_string(pw.pw_uid) + ":" +
           std::to_string(pw.pw_gid) + ":" + pw.pw_gecos + ":" + pw.pw_dir + ":" + pw.pw_shell;
}

std::string group_line(const struct group& gr) {
    std::string line =
        std::string(gr.gr_name) + ":" + gr.gr_passwd + ":" + std::to_string(gr.gr_gid) + ":";
    for (char** member = gr.gr_mem; member != nullptr && *member != nullptr; ++member) {
        if (member != gr.gr_mem)
            line += ',';
        line += *member;
    }
    return line;
}

class UnixMap final : public Map {
  public:
    UnixMap(std::string_view name, MapFlag flags, UnixTable table)
        : Map("unix", std::string(name), flags, MapKeyKind::fixed), table_(table) {}

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override {
        // A key with a NUL byte names nobody; NSS would see a shorter name.
        if (key.find('\0') != std::string_view::npos)
            return std::optional<std::string>();
        std::string name(key);
        std::vector<char> buffer(kInitialBuffer);
        for (;;) {
            auto answer = table_ == UnixTable::passwd ? lookup_passwd(name, buffer)
                                                      : lookup_group(name, buffer);
            if (answer.error != ERANGE || buffer.size() >= kMaximumBuffer)
                return finish(answer);
            buffer.resize(buffer.size() * 2);
        }
    }

  private:
    struct Answer {
        int error = 0;
        std::optional<std::string> line;
    };

    static Answer lookup_passwd(const std::string& name, std::vector<char>& buffer) {
        struct passwd pw {};
        struct passwd* found = nullptr;
        int error = ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
        if (found == nullptr)
            return {error, std::nullopt};
        return {0, passwd_line(pw)};
    }

    static Answer lookup_group(const std::string& name, std::vector<char>& buffer) {
        struct group gr {};
        struct group* found = nullptr;
        int error = ::getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &found);
        if (found == nullptr)
            return {error, std::nullopt};
        return {0, group_line(gr)};
    }

    // "Not found" comes back as 0, ENOENT, ESRCH, EBADF or EPERM depending on the NSS
    // module (getpwnam_r(3)); anything else means the database could not answer.
    Result<std::optional<std::string>> finish(const Answer& answer) const {
        if (answer.line)
            return answer.line;
        int error = answer.error;
        if (error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM)
            return std::optional<std::string>();
        const char* what = table_ == UnixTable::passwd ? "password" : "group";
        return Error(ErrorKind::temporary, "cannot access UNIX " + std::string(what) +
                                               " database: " + std::strerror(error));
    }

    UnixTable table_;
};

}  // namespace

MapOpenResult open_unix_map(std::string_view name, const MapOpenOptions& options) {
    if (options.access != MapAccess::read_only)
        return Error(ErrorKind::config,
                     "unix:" + std::string(name) + " map requires O_RDONLY access mode");
    UnixTable table = UnixTable::passwd;
    if (name == "passwd.byname")
        table = UnixTable::passwd;
    else if (name == "group.byname")
        table = UnixTable::group;
    else
        return Error(ErrorKind::config, "unknown table: unix:" + std::string(name));
    return std::unique_ptr<Map>(new UnixMap(name, options.flags, table));
}

}  // namespace postern
