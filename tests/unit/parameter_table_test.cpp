#include <catch2/catch.hpp>

#include <algorithm>

#include "config/parameter_table.hpp"

using namespace postern;

TEST_CASE("the parameter table is sorted, unique and described") {
    const auto& table = parameter_table();
    REQUIRE_FALSE(table.empty());
    for (size_t i = 1; i < table.size(); ++i) {
        INFO(table[i].name);
        CHECK(table[i - 1].name < table[i].name);
    }
    for (const ParameterInfo& info : table) {
        INFO(info.name);
        CHECK_FALSE(info.description.empty());
        if (info.type == ParamType::time)
            CHECK(info.time_unit != 0);
    }
}

TEST_CASE("find_parameter finds known names and only those") {
    REQUIRE(find_parameter("myorigin") != nullptr);
    CHECK(find_parameter("myorigin")->default_value == "$myhostname");
    CHECK(find_parameter("no_such_parameter") == nullptr);
    CHECK(find_parameter("") == nullptr);
}
