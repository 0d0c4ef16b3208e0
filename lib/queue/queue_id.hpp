// Queue IDs and where a queue file lives: the name every program uses for one message.
//
// Where it sits: lib/queue, below cleanup (which makes IDs), qmgr and the delivery agents
// (which find files by ID), postqueue/postsuper/postcat (which take IDs from the command
// line: untrusted input, checked here before it becomes part of a path). Postfix 3.7's
// formats, so that Postfix's tools and Postern's read each other's queues:
//
//   short (enable_long_queue_ids = no):  "%05X" microseconds, then the inode in "%lX"
//                                         e.g. 2D96BA760AF  (usec 0x2D96B, inode 0xA760AF)
//   long  (enable_long_queue_ids = yes): seconds in base 52 (at least six digits),
//                                         microseconds in base 52 (exactly four), 'z',
//                                         the inode in base 51 (no 'z' in it)
//                                         e.g. 4jZJ364Kxbz1bgKy
//
// The base-52 alphabet is digits, then upper- and lower-case letters without vowels;
// base 51 drops its last letter, 'z', which is why 'z' can separate the fields.
//
// Uniqueness comes from the inode: the queue file is created under a temporary name,
// fstat'd, and renamed to the ID made from its inode and the current time; no two files
// that exist at once share an inode, and the time part keeps an ID from repeating later.
//
// Hashed queues (hash_queue_names, hash_queue_depth): the file sits hash_queue_depth
// directory levels down, one character per level, taken from the ID ("deferred/2/D/2D96B...").
// For a long ID Postfix takes the characters from the microseconds rewritten in short-ID
// hex ("%05X"), so both forms spread over the same 16 directories per level.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

class Config;

enum class QueueIdForm { short_form, long_form };

// A time stamp as gettimeofday gives it.
struct QueueTime {
    int64_t seconds = 0;
    int32_t microseconds = 0;  // 0..999999
    bool operator==(const QueueTime&) const = default;
};

// The ID for a file with `inode` created at `when`.
std::string make_queue_id(QueueIdForm form, QueueTime when, uint64_t inode);

// Postfix's test for a name that may be used as a file name in a queue directory
// (mail_queue_id_ok): 1..255 characters, letters, digits and '_' only. It admits every
// queue ID of either form and the fast-flush log names ("example_com"); it keeps '/', '.'
// and everything else out of paths built from command-line arguments.
bool queue_id_ok(std::string_view id);

// A strictly checked queue ID: the form it has, or nullopt when it is neither form.
// Short: 6..21 upper-case hex digits. Long: base-52 time, 'z', base-51 inode, at most 32.
std::optional<QueueIdForm> queue_id_form(std::string_view id);

// The creation time a long queue ID carries; nullopt for short (they carry only the
// microseconds) or malformed IDs.
std::optional<QueueTime> long_queue_id_time(std::string_view id);

// The inode number an ID was made from (either form); nullopt when malformed.
std::optional<uint64_t> queue_id_inode(std::string_view id);

// A queue directory's name ("deferred"): letters and digits, at most 100, as Postfix.
bool queue_name_ok(std::string_view name);

// Which queues are hashed, and how deep.
struct QueueHashing {
    std::vector<std::string> names{"deferred", "defer"};
    int depth = 1;

    // hash_queue_names and hash_queue_depth from the configuration.
    static Result<QueueHashing> from_config(const Config& config);
    bool is_hashed(std::string_view queue_name) const;
};

// "2/D/" for depth 2: the subdirectories below a hashed queue for `id` (empty for depth 0).
std::string queue_hash_subdirectory(std::string_view id, int depth);

// "deferred/2/" or "incoming/": the queue's directory for `id`, relative to
// queue_directory, with a trailing slash.
std::string queue_directory_for(const QueueHashing& hashing, std::string_view queue_name,
                                std::string_view id);

// "QUEUE_DIRECTORY/deferred/2/2D96BA760AF". Both names must pass queue_name_ok and
// queue_id_ok (a broken invariant otherwise: check untrusted input first).
std::string queue_file_path(std::string_view queue_directory, const QueueHashing& hashing,
                            std::string_view queue_name, std::string_view id);

}  // namespace postern
