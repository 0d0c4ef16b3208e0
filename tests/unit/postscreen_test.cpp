// postscreen_dnsbl_sites parsing: "zone[=filter][*weight]".
#include <catch2/catch.hpp>

#include "postscreen/dnsbl_sites.hpp"

using namespace postern;
using namespace postern::postscreen;

TEST_CASE("postscreen dnsbl sites: weights and filters", "[postscreen]") {
    auto sites =
        parse_dnsbl_sites("zen.example=127.0.0.[2..11]*3, wl.example*-2 plain.example").value();
    REQUIRE(sites.size() == 3);
    CHECK(sites[0].site.zone == "zen.example");
    CHECK(sites[0].site.filter.has_value());
    CHECK(sites[0].weight == 3);
    CHECK(sites[1].site.zone == "wl.example");
    CHECK_FALSE(sites[1].site.filter.has_value());
    CHECK(sites[1].weight == -2);
    CHECK(sites[2].site.zone == "plain.example");
    CHECK(sites[2].weight == 1);
}

TEST_CASE("postscreen dnsbl sites: malformed weights are config errors", "[postscreen]") {
    CHECK_FALSE(parse_weighted_dnsbl_site("zen.example*").ok());
    CHECK_FALSE(parse_weighted_dnsbl_site("zen.example*x").ok());
    CHECK_FALSE(parse_weighted_dnsbl_site("zen.example*3x").ok());
    CHECK(parse_dnsbl_sites("").value().empty());
}
