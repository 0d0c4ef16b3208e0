// Queue IDs and queue paths (lib/queue/queue_id). The reference values come from real
// Postfix 3.7.11 queue files (tests/queue/postfix_samples): their names, the inode
// numbers `ls -i` showed, the arrival times inside them, and the hashed directories
// Postfix's cleanup and qmgr put them in (hash_queue_depth = 2).
#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"
#include "queue/queue_id.hpp"

using namespace postern;

TEST_CASE("short queue IDs are Postfix's hex microseconds and inode", "[queue]") {
    // 2D96BA760AF: microseconds 0x2D96B, inode 10969263 = 0xA760AF.
    CHECK(make_queue_id(QueueIdForm::short_form, {1795607442, 0x2D96B}, 10969263) == "2D96BA760AF");
    // Microseconds are padded to five digits, the inode is not padded.
    CHECK(make_queue_id(QueueIdForm::short_form, {0, 5}, 0x1F) == "000051F");
    CHECK(queue_id_form("2D96BA760AF") == QueueIdForm::short_form);
    CHECK(queue_id_inode("2D96BA760AF") == uint64_t{10969263});
    CHECK_FALSE(long_queue_id_time("2D96BA760AF"));
}

TEST_CASE("long queue IDs are Postfix's base-52 time, z, base-51 inode", "[queue]") {
    // Postfix 3.7 named the file with inode 10969334 created at 1795607586.610979 so.
    CHECK(make_queue_id(QueueIdForm::long_form, {1795607586, 610979}, 10969334) ==
          "4jZJ364Kxbz1bgKy");
    CHECK(make_queue_id(QueueIdForm::long_form, {1795607587, 635045}, 10969348) ==
          "4jZJ374VrPz1bgLF");
    CHECK(queue_id_form("4jZJ364Kxbz1bgKy") == QueueIdForm::long_form);
    auto when = long_queue_id_time("4jZJ364Kxbz1bgKy");
    REQUIRE(when);
    CHECK(when->seconds == 1795607586);
    CHECK(when->microseconds == 610979);
    CHECK(queue_id_inode("4jZJ364Kxbz1bgKy") == uint64_t{10969334});
    // Small values are padded: six digits of seconds, four of microseconds.
    CHECK(make_queue_id(QueueIdForm::long_form, {1, 2}, 0) == "0000010002z0");
}

TEST_CASE("queue IDs round-trip through their parts", "[queue]") {
    auto form = GENERATE(QueueIdForm::short_form, QueueIdForm::long_form);
    auto values = GENERATE(table<int64_t, int32_t, uint64_t>({
        {0, 0, 1},
        {1795607586, 999999, 10969334},
        {2147483647, 123456, 0xffffffffULL},
        {4102444800, 1, 18446744073709551615ULL},
        {1000000000, 500000, 51},
        {1000000000, 500000, 50},
    }));
    QueueTime when{std::get<0>(values), std::get<1>(values)};
    uint64_t inode = std::get<2>(values);
    std::string id = make_queue_id(form, when, inode);
    CAPTURE(id);
    CHECK(queue_id_form(id) == form);
    CHECK(queue_id_ok(id));
    CHECK(queue_id_inode(id) == inode);
    if (form == QueueIdForm::long_form) {
        CHECK(long_queue_id_time(id) == when);
        CHECK(id.find_first_of("aeiouAEIOU") == std::string::npos);
    }
}

TEST_CASE("queue_id_ok is Postfix's mail_queue_id_ok", "[queue]") {
    CHECK(queue_id_ok("2D96BA760AF"));
    CHECK(queue_id_ok("4jZJ364Kxbz1bgKy"));
    CHECK(queue_id_ok("example_com"));  // a fast-flush log name
    CHECK(queue_id_ok(std::string(255, 'A')));
    auto bad = GENERATE(as<std::string>{}, "", "../etc", "a/b", "a.b", "a b", "ABC\n", "-ABC",
                        std::string("ABC\0DEF", 7), "%41", std::string(256, 'A'));
    CAPTURE(bad);
    CHECK_FALSE(queue_id_ok(bad));
}

TEST_CASE("queue_id_form rejects everything else", "[queue]") {
    auto bad = GENERATE(as<std::string>{}, "", "2d96ba760af", "2D96B", "FFFFFFFFFFFFFFFFFFFFFF",
                        "F4240A760AF",        // microseconds 1000000
                        "4jZJ364Kxbz",        // no inode
                        "4jZJ364Kxbz1bgKz",   // 'z' in the inode makes the time part bad
                        "4jZJ36aKxbz1bgKy",   // a vowel
                        "4jZ64Kxbz1bgKy",     // time too short
                        "4jZJ36Zzzzz1bgKy",   // microseconds beyond 999999
                        "4jZJ364Kxbz1bgKy_",  // foreign character
                        "example_com", "../4jZJ364Kxbz1bgKy");
    CAPTURE(bad);
    CHECK_FALSE(queue_id_form(bad));
    CHECK_FALSE(queue_id_inode(bad));
    CHECK_FALSE(long_queue_id_time(bad));
}

TEST_CASE("hashed subdirectories are Postfix's", "[queue]") {
    // Where Postfix 3.7 put these files with hash_queue_depth = 2.
    CHECK(queue_hash_subdirectory("2D96BA760AF", 2) == "2/D/");
    CHECK(queue_hash_subdirectory("EB619A762C2", 2) == "E/B/");
    CHECK(queue_hash_subdirectory("F1310A7634A", 2) == "F/1/");
    // Long IDs hash by their microseconds in short-ID hex: 610979 = 0x952A3.
    CHECK(queue_hash_subdirectory("4jZJ364Kxbz1bgKy", 2) == "9/5/");
    CHECK(queue_hash_subdirectory("4jZJ374VrPz1bgLF", 2) == "9/B/");
    CHECK(queue_hash_subdirectory("4jZJ3R3zhqz1bgKb", 2) == "8/9/");
    CHECK(queue_hash_subdirectory("2D96BA760AF", 1) == "2/");
    CHECK(queue_hash_subdirectory("2D96BA760AF", 0).empty());
    // Deeper than the name: padded with '_', as Postfix's dir_forest.
    CHECK(queue_hash_subdirectory("AB", 3) == "A/B/_/");
    // Microseconds below 0x10000 hash under "0".
    CHECK(queue_hash_subdirectory(make_queue_id(QueueIdForm::long_form, {1795607586, 5}, 7), 2) ==
          "0/0/");
}

TEST_CASE("queue file paths follow hash_queue_names", "[queue]") {
    QueueHashing hashing;  // Postfix's defaults: deferred, defer; depth 1
    CHECK(queue_file_path("/q", hashing, "deferred", "2D96BA760AF") == "/q/deferred/2/2D96BA760AF");
    CHECK(queue_file_path("/q", hashing, "defer", "2D96BA760AF") == "/q/defer/2/2D96BA760AF");
    CHECK(queue_file_path("/q", hashing, "incoming", "2D96BA760AF") == "/q/incoming/2D96BA760AF");
    CHECK(queue_file_path("/q", hashing, "active", "4jZJ364Kxbz1bgKy") ==
          "/q/active/4jZJ364Kxbz1bgKy");
    CHECK(queue_directory_for(hashing, "deferred", "4jZJ364Kxbz1bgKy") == "deferred/9/");
    CHECK(hashing.is_hashed("DEFERRED"));  // names compare without case, as in Postfix
    CHECK_FALSE(hashing.is_hashed("hold"));
    CHECK(queue_name_ok("deferred"));
    CHECK_FALSE(queue_name_ok("../deferred"));
    CHECK_FALSE(queue_name_ok(""));
}

TEST_CASE("hashing comes from hash_queue_names and hash_queue_depth", "[queue]") {
    Config config = Config::defaults_only();
    auto defaults = QueueHashing::from_config(config);
    REQUIRE(defaults);
    CHECK(defaults->names == std::vector<std::string>{"deferred", "defer"});
    CHECK(defaults->depth == 1);

    config.set_override("hash_queue_names", "incoming,deferred defer");
    config.set_override("hash_queue_depth", "2");
    auto custom = QueueHashing::from_config(config);
    REQUIRE(custom);
    CHECK(custom->depth == 2);
    CHECK(custom->is_hashed("incoming"));
    CHECK(queue_file_path("/q", *custom, "incoming", "2D96BA760AF") ==
          "/q/incoming/2/D/2D96BA760AF");

    config.set_override("hash_queue_depth", "17");
    auto too_deep = QueueHashing::from_config(config);
    REQUIRE_FALSE(too_deep);
    CHECK(too_deep.error().kind() == ErrorKind::config);
}
