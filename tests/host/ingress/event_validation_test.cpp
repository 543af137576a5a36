#include "ingress/event_validation.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

const std::string kVisitor =
    R"("visitor":{"email":"jane.smith@example.com","first_name":"Jane","last_name":"Smith","company":"Acme Corp"})";
const std::string kVisit = R"("visit":{"host":"John Doe","site":"Munich HQ"})";

std::string event(const std::string& fields) { return "{" + fields + "}"; }

TEST(EventValidation, AcceptsTheSeedPayloads) {
  Problem p;
  auto pre = validate_event(
      event(R"("event":"visitor.pre_registered","timestamp":"2026-04-15T09:30:00Z",)" + kVisitor +
            R"(,"visit":{"host":"John Doe","site":"Munich HQ","expected_arrival":"2026-04-15T10:00:00Z","purpose":"Project kickoff"})"),
      &p);
  ASSERT_TRUE(pre.ok()) << p.message;
  EXPECT_EQ(pre->type, "visitor.pre_registered");
  auto out = validate_event(
      event(R"("id":"evt-1","event":"visitor.checked_out","timestamp":"2026-04-15T14:30:00.123+02:00",)" + kVisitor +
            R"(,"visit":{"host":"John Doe","site":"Munich HQ","checked_in_at":"2026-04-15T10:05:00Z","checked_out_at":"2026-04-15T14:30:00Z","documents_signed":["NDA v3","WiFi Policy v1"]})"),
      &p);
  ASSERT_TRUE(out.ok()) << p.message;
  EXPECT_EQ(out->id, "evt-1");
  // Unknown fields, nested as deep as they like, are carried along, not judged.
  auto extra = validate_event(
      event(R"("event":"visitor.checked_in","timestamp":"2026-04-15T09:30:00-05:30","x":{"y":[{"z":[1]}]},)" +
            kVisitor + "," + kVisit),
      &p);
  ASSERT_TRUE(extra.ok()) << p.message;
}

// Many visitors come on their own: company is optional, and typed when given. An adapter that
// needs one (a Salesforce Lead) says so through its mapping.
TEST(EventValidation, AVisitorWithoutACompanyIsValid) {
  Problem p;
  const std::string alone =
      R"("visitor":{"email":"jane.smith@example.com","first_name":"Jane","last_name":"Smith"})";
  auto e = validate_event(
      event(R"("event":"visitor.checked_in","timestamp":"2026-04-15T09:30:00Z",)" + alone + "," + kVisit),
      &p);
  EXPECT_TRUE(e.ok()) << p.message;
  auto typed = validate_event(
      event(R"("event":"visitor.checked_in","timestamp":"2026-04-15T09:30:00Z",)"
            R"("visitor":{"email":"j@x.io","first_name":"J","last_name":"S","company":7},)" + kVisit),
      &p);
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(p.field, "visitor.company");
}

struct Case {
  std::string body;
  std::string code;
  std::string field;
};

TEST(EventValidation, NamesTheProblemField) {
  const std::string ts = R"("timestamp":"2026-04-15T09:30:00Z",)";
  const Case cases[] = {
      {"{not json", "bad_json", ""},
      {"[1,2]", "bad_json", ""},
      {event(ts + kVisitor + "," + kVisit), "missing_field", "event"},
      {event(R"("event":"visitor.arrived",)" + ts + kVisitor + "," + kVisit), "bad_field", "event"},
      {event(R"("event":"visitor.checked_in",)" + kVisitor + "," + kVisit), "missing_field", "timestamp"},
      {event(R"("event":"visitor.checked_in","timestamp":"yesterday",)" + kVisitor + "," + kVisit), "bad_field", "timestamp"},
      {event(R"("event":"visitor.checked_in",)" + ts + kVisit), "missing_field", "visitor"},
      {event(R"("event":"visitor.checked_in",)" + ts + R"("visitor":"jane",)" + kVisit), "bad_field", "visitor"},
      {event(R"("event":"visitor.checked_in",)" + ts +
             R"("visitor":{"email":"nope","first_name":"J","last_name":"S","company":"A"},)" + kVisit),
       "bad_field", "visitor.email"},
      {event(R"("event":"visitor.checked_in",)" + ts +
             R"("visitor":{"email":"j@x.io","last_name":"S","company":"A"},)" + kVisit),
       "missing_field", "visitor.first_name"},
      {event(R"("event":"visitor.checked_in",)" + ts + kVisitor + R"(,"visit":{"site":"M"})"), "missing_field", "visit.host"},
      {event(R"("event":"visitor.checked_in",)" + ts + kVisitor + R"(,"visit":{"host":"H","site":7})"), "bad_field", "visit.site"},
      {event(R"("event":"visitor.checked_out",)" + ts + kVisitor +
             R"(,"visit":{"host":"H","site":"M","documents_signed":["a",3]})"),
       "bad_field", "visit.documents_signed[1]"},
      {event(R"("event":"visitor.checked_out",)" + ts + kVisitor +
             R"(,"visit":{"host":"H","site":"M","checked_out_at":"2026-13-45"})"),
       "bad_field", "visit.checked_out_at"},
      {event(R"("id":"","event":"visitor.checked_in",)" + ts + kVisitor + "," + kVisit), "bad_field", "id"},
      {event(R"("id":null,"event":"visitor.checked_in",)" + ts + kVisitor + "," + kVisit), "bad_field", "id"},
      {event(R"("event":"visitor.checked_out",)" + ts + kVisitor +
             R"(,"visit":{"host":"H","site":"M","documents_signed":["a",{"b":"c"}]})"),
       "bad_field", "visit.documents_signed[1]"},
      {event(R"("event":"visitor.checked_out",)" + ts + kVisitor +
             R"(,"visit":{"host":"H","site":"M","documents_signed":"NDA"})"),
       "bad_field", "visit.documents_signed"},
      {event(R"("event":"visitor.checked_in","timestamp":"2026-02-30T09:30:00Z",)" + kVisitor + "," + kVisit),
       "bad_field", "timestamp"},
      {event(R"("event":"visitor.checked_in","timestamp":"2026-04-15T09:30:00+25:00",)" + kVisitor + "," + kVisit),
       "bad_field", "timestamp"},
      {event(R"("event":"visitor.checked_in","timestamp":"2026-04-15 09:30:00Z",)" + kVisitor + "," + kVisit),
       "bad_field", "timestamp"},
      {event(R"("event":"visitor.checked_in",)" + ts +
             R"("visitor":{"email":"j@x.","first_name":"J","last_name":"S","company":"A"},)" + kVisit),
       "bad_field", "visitor.email"},
      {event(R"("event":"visitor.checked_in",)" + ts +
             R"("visitor":{"email":"j k@x.io","first_name":"J","last_name":"S","company":"A"},)" + kVisit),
       "bad_field", "visitor.email"},
      {event(R"("event":"visitor.checked_in",)" + ts +
             R"("visitor":{"email":"j@k@x.io","first_name":"J","last_name":"S","company":"A"},)" + kVisit),
       "bad_field", "visitor.email"},
      // A repeated key replaces the whole earlier value, as in a parsed document.
      {event(R"("event":"visitor.checked_in",)" + ts + kVisitor + R"(,"visitor":"jane",)" + kVisit),
       "bad_field", "visitor"},
      {event(R"("event":"visitor.checked_in",)" + ts + kVisitor + R"(,"visitor":{"email":"j@x.io"},)" + kVisit),
       "missing_field", "visitor.first_name"},
  };
  for (const auto& c : cases) {
    Problem p;
    auto r = validate_event(c.body, &p);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(p.status, 400);
    EXPECT_EQ(p.code, c.code) << c.body << " -> " << p.message;
    EXPECT_EQ(p.field, c.field) << c.body << " -> " << p.message;
    EXPECT_FALSE(p.message.empty());
  }
}

}  // namespace
}  // namespace crmhost
