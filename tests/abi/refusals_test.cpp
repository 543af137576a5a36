// The refusal list of the ABI, through the real binary: a plugin_dir holding the webhook adapter
// and every incompatible fixture (tests/plugins/README.md). crmhost starts anyway, names each
// refused file with its failing field in GET /v1/plugins and in its log, and the webhook
// integration keeps delivering. tests/host/adapter_library_test.cpp checks the same fixtures
// against the loader alone.
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "e2e/e2e_fixture.h"

namespace crmhost::testing {
namespace {

// Every bad_*.so fixture and the descriptor field its refusal must name.
const std::map<std::string, std::string> kRefusedField = {
    {"bad_major.so", "abi_major"},                // another ABI major
    {"bad_min_host_minor.so", "min_host_minor"},  // needs a newer host minor
    {"bad_signature.so", "build_signature"},      // another pointer size / size_t / byte order
    {"bad_null_deliver.so", "deliver"},           // a required function is NULL
    {"bad_struct_size.so", "struct_size"},        // smaller than v1.0's descriptor
    {"bad_no_entry.so", "crmh_adapter_entry"},    // the entry symbol is not exported
    {"bad_entry_null.so", "crmh_adapter_entry"},  // the entry returns NULL
};

// The lines of `text` that contain every one of `words`.
std::vector<std::string> LinesWith(const std::string& text, const std::vector<std::string>& words) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const std::string& w : words) all = all && line.find(w) != std::string::npos;
    if (all) found.push_back(line);
  }
  return found;
}

class AbiRefusals : public E2eTest {};

TEST_F(AbiRefusals, EachBadAdapterIsRefusedByFieldAndTheWebhookStillDelivers) {
  // Copy every bad_*.so that tests/plugins built; a fixture without an expectation above fails.
  const std::filesystem::path plugins = dir_ / "plugins";
  std::filesystem::create_directories(plugins);
  std::set<std::string> copied;
  for (const auto& entry : std::filesystem::directory_iterator(CRMHOST_BAD_PLUGIN_DIR)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("bad_", 0) != 0 || entry.path().extension() != ".so") continue;
    EXPECT_TRUE(kRefusedField.count(name)) << name << ": a new fixture needs its field here";
    std::filesystem::copy_file(entry.path(), plugins / name);
    copied.insert(name);
  }
  for (const auto& [name, field] : kRefusedField) {
    EXPECT_TRUE(copied.count(name)) << name << " missing from " << CRMHOST_BAD_PLUGIN_DIR;
  }
  std::filesystem::copy_file(WebhookPluginPath(), plugins / "webhook.so");

  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.plugin_dir = plugins.string();
  config.admin_key = "admin-key-abi";
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  // GET /v1/plugins: only the webhook serves; each bad file is listed with its field.
  const HttpResponse r = Client().Get("/v1/plugins", "admin-key-abi");
  ASSERT_EQ(r.status, 200) << r.body;
  Poco::JSON::Array::Ptr loaded = r.json()->getArray("plugins");
  ASSERT_FALSE(loaded.isNull()) << r.body;
  ASSERT_EQ(loaded->size(), 1u) << r.body;
  EXPECT_EQ(JsonString(loaded->getObject(0), "name"), "webhook") << r.body;

  Poco::JSON::Array::Ptr refused = r.json()->getArray("refused");
  ASSERT_FALSE(refused.isNull()) << r.body;
  std::map<std::string, std::string> field_of;  // file name -> field
  for (size_t i = 0; i < refused->size(); ++i) {
    Poco::JSON::Object::Ptr o = refused->getObject(static_cast<unsigned>(i));
    const std::string file = std::filesystem::path(JsonString(o, "file")).filename().string();
    field_of[file] = JsonString(o, "field");
    EXPECT_FALSE(JsonString(o, "reason").empty()) << file << " refused without a reason";
  }
  for (const std::string& name : copied) {
    ASSERT_TRUE(field_of.count(name)) << name << " not listed as refused: " << r.body;
    EXPECT_EQ(field_of[name], kRefusedField.at(name)) << name << ": " << r.body;
  }
  EXPECT_EQ(field_of.size(), copied.size()) << r.body;

  // The log says the same: one line per refused file naming its field.
  const std::string log = host_->stderr_text();
  for (const std::string& name : copied) {
    EXPECT_FALSE(LinesWith(log, {"refused", name, kRefusedField.at(name) + ":"}).empty())
        << "no log line refusing " << name << " by " << kRefusedField.at(name) << " in:\n"
        << log;
  }

  // And the webhook integration is unaffected.
  const std::string event_id = PostEvent("acme-key", VisitorEvent(kPreRegistered));
  const auto rows = WaitForDeliveries("acme-key", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(receiver.WaitForCount(1, kDeadline));
  EXPECT_TRUE(receiver.arrivals().at(0).verified());
  EXPECT_EQ(receiver.arrivals().at(0).webhook_id, rows[0].id);
  const HttpResponse ready = Client().Get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
}

}  // namespace
}  // namespace crmhost::testing
