// The field mapping language (host/mapping/field_mapping.h): rules, overrides over an adapter's
// default, required fields, transforms, and refusals that name the key.
#include "mapping/field_mapping.h"

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace crmhost {
namespace {

const char kDefault[] = R"({
  "contact": {
    "LastName": {"from": "visitor.last_name", "required": true},
    "Email": {"from": "visitor.email", "transform": ["trim", "lower"], "required": true},
    "Phone": {"from": "visitor.phone"}
  },
  "activity": {
    "Subject": "Visit: {visitor.first_name} {visitor.last_name} at {visit.site}",
    "ActivityDate": {"from": ["visit.checked_out_at", "timestamp"], "transform": "date"},
    "Status": {"value": "Completed"},
    "Docs": "{visit.documents_signed}"
  }
})";

const char kEvent[] = R"({"event":"visitor.checked_out","timestamp":"2026-04-15T17:05:00Z",
  "visitor":{"email":"  Jane.Doe@Example.COM ","first_name":"Jane","last_name":"Doe","badge":"B-17"},
  "visit":{"host":"Sam","site":"HQ","documents_signed":["NDA","Safety"]}})";

Poco::JSON::Object::Ptr Records(const FieldMapping& m, const std::string& event = kEvent) {
  auto applied = m.apply(event);
  EXPECT_TRUE(applied.ok()) << applied.error();
  return Poco::JSON::Parser().parse(*applied).extract<Poco::JSON::Object::Ptr>();
}

FieldMapping Default() {
  auto m = FieldMapping::parse(kDefault, "default");
  EXPECT_TRUE(m.ok()) << m.error();
  return *m;
}

TEST(FieldMapping, AppliesPathsTemplatesConstantsAndTransforms) {
  auto r = Records(Default());
  auto contact = r->getObject("contact"), activity = r->getObject("activity");
  EXPECT_EQ(contact->getValue<std::string>("Email"), "jane.doe@example.com");
  EXPECT_EQ(contact->getValue<std::string>("LastName"), "Doe");
  EXPECT_FALSE(contact->has("Phone")) << "an empty field is left out";
  EXPECT_EQ(activity->getValue<std::string>("Subject"), "Visit: Jane Doe at HQ");
  EXPECT_EQ(activity->getValue<std::string>("ActivityDate"), "2026-04-15") << "falls back to timestamp";
  EXPECT_EQ(activity->getValue<std::string>("Status"), "Completed");
  EXPECT_EQ(activity->getValue<std::string>("Docs"), "NDA, Safety");
}

TEST(FieldMapping, OverridesAddCustomFieldsReplaceAndDropDefaults) {
  auto overrides = FieldMapping::parse(
      R"j({"contact":{"Visitor_Badge__c":"{visitor.badge}","Phone":null,
          "LastName":{"template":"{visitor.last_name} ({visitor.first_name})"}},
          "activity":{"Status":{"value":"Done"},"Note":{"from":"visit.purpose","default":"none"}}})j",
      "mapping", true);
  ASSERT_TRUE(overrides.ok()) << overrides.error();
  auto merged = Default().merged(*overrides, "mapping");
  ASSERT_TRUE(merged.ok()) << merged.error();
  auto r = Records(*merged);
  EXPECT_EQ(r->getObject("contact")->getValue<std::string>("Visitor_Badge__c"), "B-17");
  EXPECT_EQ(r->getObject("contact")->getValue<std::string>("LastName"), "Doe (Jane)");
  EXPECT_EQ(r->getObject("activity")->getValue<std::string>("Status"), "Done");
  EXPECT_EQ(r->getObject("activity")->getValue<std::string>("Note"), "none");
}

TEST(FieldMapping, ARequiredFieldLeftEmptyIsRefusedNamingIt) {
  auto overrides = FieldMapping::parse(R"({"contact":{"LastName":{"from":"visitor.surname"}}})",
                                       "mapping", true);
  ASSERT_TRUE(overrides.ok());
  auto merged = Default().merged(*overrides, "mapping");
  ASSERT_TRUE(merged.ok()) << merged.error();
  auto applied = merged->apply(kEvent);
  ASSERT_FALSE(applied.ok()) << "an override keeps the CRM's required flag";
  EXPECT_NE(applied.error().find("contact.LastName"), std::string::npos) << applied.error();
}

TEST(FieldMapping, DroppingARequiredFieldOrMappingAnUnknownRecordIsRefused) {
  auto drop = FieldMapping::parse(R"({"contact":{"LastName":null}})", "mapping", true);
  ASSERT_TRUE(drop.ok());
  auto merged = Default().merged(*drop, "mapping");
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.error().find("mapping.contact.LastName"), std::string::npos) << merged.error();
  auto deal = FieldMapping::parse(R"({"deal":{"Amount":{"value":1}}})", "mapping", true);
  ASSERT_TRUE(deal.ok());
  auto refused = Default().merged(*deal, "mapping");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("mapping.deal"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("activity, contact"), std::string::npos) << refused.error();
}

TEST(FieldMapping, BadRulesAreRefusedNamingTheKey) {
  struct Case {
    const char* json;
    const char* names;
  } cases[] = {
      {R"({"contact":{"A":{"from":"visitor.email","transform":["shout"]}}})", "mapping.contact.A.transform"},
      {R"({"contact":{"A":{"from":"visitor.email","value":"x"}}})", "mapping.contact.A"},
      {R"({"contact":{"A":"{visitor.email"}})", "mapping.contact.A"},
      {R"({"contact":{"A":{"from":"visitor..email"}}})", "mapping.contact.A.from"},
      {R"({"contact":{"A":{"form":"visitor.email"}}})", "mapping.contact.A.form"},
      {R"({"contact":{"A":{"from":"visitor.email","max_length":0}}})", "mapping.contact.A.max_length"},
      {R"({"contact":"visitor.email"})", "mapping.contact"},
      {R"([1])", "mapping"},
  };
  for (const auto& c : cases) {
    auto m = FieldMapping::parse(c.json, "mapping", true);
    ASSERT_FALSE(m.ok()) << c.json;
    EXPECT_EQ(m.error().rfind(std::string(c.names) + ": ", 0), 0u) << m.error();
  }
}

TEST(FieldMapping, MaxLengthCutsAtACharacterBoundaryAndEpochMsConverts) {
  auto m = FieldMapping::parse(
      R"({"r":{"Short":{"template":"{visitor.first_name}","max_length":3},
              "At":{"from":"timestamp","transform":"epoch_ms"}}})", "m");
  ASSERT_TRUE(m.ok()) << m.error();
  auto r = Records(*m, R"({"timestamp":"2026-04-15T17:05:00.250+02:00","visitor":{"first_name":"Zoë"}})");
  EXPECT_EQ(r->getObject("r")->getValue<std::string>("Short"), "Zo") << "ë is two bytes";
  EXPECT_EQ(r->getObject("r")->getValue<std::string>("At"), "1776265500250");
}

}  // namespace
}  // namespace crmhost

namespace crmhost {
namespace {

TEST(FieldMapping, ATemplateWithoutAnyValueTakesItsDefault) {
  auto m = FieldMapping::parse(
      R"({"activity":{"Subject":{"template":"Visit at {visit.site}","default":"Visit"},
                     "Note":"Host: {visit.host}, site {visit.site}"}})", "m");
  ASSERT_TRUE(m.ok()) << m.error();
  auto r = Records(*m, R"({"visit":{"host":"Sam"}})");
  EXPECT_EQ(r->getObject("activity")->getValue<std::string>("Subject"), "Visit");
  EXPECT_EQ(r->getObject("activity")->getValue<std::string>("Note"), "Host: Sam, site ")
      << "one field with a value keeps the template";
}

TEST(FieldMapping, OnlyTheWantedRecordsAreMappedOrChecked) {
  auto m = FieldMapping::parse(
      R"({"contact":{"Email":{"from":"visitor.email","required":true}},
          "activity":{"When":{"from":"visit.checked_out_at","required":true}}})", "m");
  ASSERT_TRUE(m.ok()) << m.error();
  const std::string pre_registered = R"({"visitor":{"email":"a@example.com"},"visit":{}})";
  EXPECT_FALSE(m->apply(pre_registered).ok()) << "every record by default";
  auto applied = m->apply(pre_registered, [](const std::string& r) { return r != "activity"; });
  ASSERT_TRUE(applied.ok()) << "a record the event does not write is not required of it";
  EXPECT_EQ(applied->find("activity"), std::string::npos) << *applied;
}

}  // namespace
}  // namespace crmhost
