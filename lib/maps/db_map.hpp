// hash: and btree: tables: Berkeley DB 5.3 files that real Postfix 3.7 reads and writes.
//
// Where it sits: lib/maps, behind the Map interface (map.hpp). Daemons look up
// smtp_sasl_password_maps, transport_maps, access tables... here on every SMTP command;
// postmap builds and queries them; postscreen's cache is a btree. `hash:NAME` is the file
// NAME.db; NAME itself is the administrator's source text, which only postmap reads.
//
// Compatibility with Postfix's files (checked against /usr/sbin/postmap and db5.3_dump):
//   - Keys and values are stored with a trailing NUL by default, as Postfix on Linux
//     writes them; MapFlag::try_nul / try_no_nul choose (postmap -N / -n). When both are
//     set a lookup tries with the NUL, then without, and remembers which one matched for
//     the rest of the handle's life; an update with both set writes with the NUL.
//   - Locks are flock(2) on the .db file (Postfix's compiled-in internal lock style on
//     Linux): shared around each lookup or scan, exclusive around each update or removal,
//     when MapFlag::lock is set. A table being built (create_truncate) is a private
//     temporary file, so it needs no lock.
//   - A rebuilt table replaces NAME.db by rename(2): a Postfix daemon notices it (its open
//     file's link count drops to zero) exactly as it notices Postfix's own in-place rebuild.
//
// Untrusted input: the .db file belongs to the administrator, but may be damaged or not a
// database at all; every Berkeley DB error becomes an Error naming the file. The handle is
// not thread-safe (no DB_THREAD): one Map per thread, as every daemon is single-threaded.
//
// Cache sizes follow Postfix's defaults: berkeley_db_read_buffer_size (128 KiB) for a
// table opened to read or update, berkeley_db_create_buffer_size (16 MiB) for a table being
// built, so that postmap on a large source does not thrash. Berkeley DB adds 25%.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "maps/map.hpp"

namespace postern {

enum class DbKind { hash, btree };

// Postfix's defaults for berkeley_db_read_buffer_size and berkeley_db_create_buffer_size.
inline constexpr uint32_t kDbReadCacheBytes = 128 * 1024;
inline constexpr uint32_t kDbCreateCacheBytes = 16 * 1024 * 1024;

// The file behind `hash:name` or `btree:name`: "name.db".
std::string db_file_path(std::string_view name);

// Opens or creates the table; open_hash_map/open_btree_map (map_openers.hpp) call this.
// Errors: a missing file is ErrorKind::not_found, "open database NAME.db: No such file or
// directory"; a file Berkeley DB does not accept is ErrorKind::corrupt; other system errors
// are ErrorKind::io. With MapFlag::lock, opening an existing table warns "database NAME.db is older
// than source file NAME" when the source changed after the table was built (and more than
// 100 seconds ago, so that an edit followed by postmap does not warn), as Postfix does.
Result<std::unique_ptr<Map>> open_db_map(DbKind kind, std::string_view name,
                                         const MapOpenOptions& options);

}  // namespace postern
