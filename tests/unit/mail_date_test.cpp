// Dates in Postfix's header layout (lib/mail/mail_date). The reference is the Date: header
// real Postfix 3.7.11's cleanup added to a message that arrived at 1796289491 (UTC):
// "Thu,  3 Dec 2026 09:18:11 +0000 (UTC)".
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <string>

#include "mail/mail_date.hpp"

using namespace postern;

TEST_CASE("mail_date writes Postfix's RFC 5322 date", "[mail_date]") {
    std::time_t when = 1796289491;
    std::tm utc{};
    gmtime_r(&when, &utc);
    CHECK(format_mail_date(utc, 0, "UTC") == "Thu,  3 Dec 2026 09:18:11 +0000 (UTC)");
}

TEST_CASE("mail_date writes the offset and the zone name", "[mail_date]") {
    std::time_t when = 1796289491 + 3600;  // the same instant in UTC+1
    std::tm local{};
    gmtime_r(&when, &local);
    CHECK(format_mail_date(local, 3600, "CET") == "Thu,  3 Dec 2026 10:18:11 +0100 (CET)");
    CHECK(format_mail_date(local, -(5 * 3600 + 30 * 60), "X") ==
          "Thu,  3 Dec 2026 10:18:11 -0530 (X)");
    // Two-digit days are not padded.
    std::time_t later = 1796289491 + 10 * 86400;
    gmtime_r(&later, &local);
    CHECK(format_mail_date(local, 0, "UTC") == "Sun, 13 Dec 2026 09:18:11 +0000 (UTC)");
}

TEST_CASE("mail_date uses the local time zone", "[mail_date]") {
    const char* saved = std::getenv("TZ");
    std::string old = saved ? saved : "";
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK(mail_date(1796289491) == "Thu,  3 Dec 2026 09:18:11 +0000 (UTC)");
    if (saved)
        setenv("TZ", old.c_str(), 1);
    else
        unsetenv("TZ");
    tzset();
}
