// Hot reload under load (issue 5 §2), through the real binary. Events are posted at a steady rate
// while the webhook adapter in the host's plugin_dir is replaced by builds reporting 1.0.1 … 1.0.5
// (each swap awaited in GET /v1/plugins and then seen serving at the receiver), and a sixth time
// by an image the loader refuses. At the receiver: every acknowledged event arrived, none twice
// (by webhook-id), each from one generation's build, the broken build never.
//
// The three triggers are each proven on their own: inotify (an atomic rename over webhook.so),
// SIGHUP and POST /v1/plugins/webhook/reload. For the last two the new content is written into
// webhook.so in place and its descriptor is held open until the swap is seen: the watcher only
// reacts to whole-file events (IN_CLOSE_WRITE, IN_MOVED_TO, ...), so while the file is open only
// the trigger under test can have made the swap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "reload/steady_poster.h"
#include "support/eventually.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "support/receiver.h"
#include "support/temp_dir.h"

namespace crmhost::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = 20s;
constexpr int kEventsPerSecond = 200;
// Arrivals each generation must deliver before the next swap, so every swap happens under load.
constexpr size_t kArrivalsPerGeneration = 60;
// The receiver answers after this, so every swap retires a generation with calls in flight.
constexpr auto kReceiverDelay = 20ms;
// How long after a swap is visible a call started on the old generation may still arrive.
constexpr auto kInFlightGrace = 1s;
const char kKey[] = "acme-key";
const char kAdmin[] = "admin-key";
const char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const char kVersionHeader[] = "x-crmhost-adapter-version";

// The variant builds, in order: 1.0.1 … 1.0.5 (tests/reload/CMakeLists.txt).
std::vector<std::filesystem::path> Variants() {
  std::vector<std::filesystem::path> out;
  std::stringstream all(CRMHOST_WEBHOOK_VARIANTS);
  for (std::string path; std::getline(all, path, ':');) out.emplace_back(path);
  return out;
}

// The webhook adapter's entry in GET /v1/plugins.
struct WebhookState {
  std::string version;
  uint64_t generation = 0;
  std::string sha256;
  bool last_reload_ok = false;
  std::string last_reload_message;
};

// webhook.so's content replaced in place, the file held open (no whole-file inotify event) until
// destruction.
class InPlaceWrite {
 public:
  InPlaceWrite(const std::filesystem::path& target, const std::filesystem::path& source) {
    const std::string content = ReadFile(source);
    if (content.empty()) throw std::runtime_error("cannot read " + source.string());
    fd_ = ::open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open " + target.string());
    for (size_t done = 0; done < content.size();) {
      ssize_t n = ::write(fd_, content.data() + done, content.size() - done);
      if (n <= 0) throw std::runtime_error("cannot write " + target.string());
      done += static_cast<size_t>(n);
    }
  }
  ~InPlaceWrite() { ::close(fd_); }
  InPlaceWrite(const InPlaceWrite&) = delete;
  InPlaceWrite& operator=(const InPlaceWrite&) = delete;

 private:
  int fd_ = -1;
};

class ReloadUnderLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugins_ = dir_.path() / "plugins";
    std::filesystem::create_directories(plugins_);
    std::filesystem::copy_file(WebhookPluginPath(), plugins_ / "webhook.so");
    receiver_.SetDelay(kReceiverDelay);
    HostConfig c;
    c.plugin_dir = plugins_.string();
    c.admin_key = kAdmin;
    IntegrationSpec webhook;
    webhook.id = "acme-webhook";
    webhook.url = receiver_.url();
    webhook.secret = kSecret;
    c.tenants.push_back({"acme", {kKey}, std::nullopt, {webhook}});
    host_ = std::make_unique<HostProcess>(dir_.path(), c);
  }
  void TearDown() override {
    if (poster_) poster_->Stop();
    if (host_->running()) {
      EXPECT_EQ(host_->Stop(), std::optional<int>(0)) << "clean stop";
    }
    if (HasFailure()) std::cerr << "---- crmhost stderr ----\n" << host_->stderr_text() << "\n";
  }

  WebhookState Webhook() const {
    auto r = HttpClient(host_->base_url()).Get("/v1/plugins", kAdmin);
    if (r.status != 200) throw std::runtime_error("GET /v1/plugins: " + r.body);
    auto plugins = r.json()->getArray("plugins");
    for (size_t i = 0; plugins && i < plugins->size(); ++i) {
      auto p = plugins->getObject(static_cast<unsigned>(i));
      if (JsonString(p, "name") != "webhook") continue;
      WebhookState s;
      s.version = JsonString(p, "version");
      s.generation = p->getValue<uint64_t>("generation");
      s.sha256 = JsonString(p, "sha256");
      auto last = p->getObject("last_reload");
      s.last_reload_ok = last->getValue<bool>("ok");
      s.last_reload_message = JsonString(last, "message");
      return s;
    }
    throw std::runtime_error("no webhook adapter in GET /v1/plugins: " + r.body);
  }

  // The atomic replacement an operator makes: a temp name the watcher ignores, then rename(2).
  void ReplaceByRename(const std::filesystem::path& source) {
    auto incoming = plugins_ / "webhook.so.incoming";
    std::filesystem::copy_file(source, incoming, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(incoming, plugins_ / "webhook.so");
  }

  // Waits until GET /v1/plugins shows `version` serving, then records when.
  ::testing::AssertionResult AwaitServing(const std::string& version) {
    WebhookState last;
    bool seen = Eventually(
        [&] {
          last = Webhook();
          return last.version == version;
        },
        kDeadline);
    if (!seen)
      return ::testing::AssertionFailure()
             << "webhook " << version << " never served; still " << last.version
             << ", last reload: " << last.last_reload_message;
    swaps_.push_back({version, Clock::now()});
    return ::testing::AssertionSuccess();
  }

  // Waits until `n` arrivals in all carry `version`.
  ::testing::AssertionResult AwaitArrivalsFrom(const std::string& version, size_t n) {
    bool seen = receiver_.WaitUntil(
        [&](const std::vector<Arrival>& all) {
          return static_cast<size_t>(std::count_if(all.begin(), all.end(), [&](const Arrival& a) {
                   auto it = a.headers.find(kVersionHeader);
                   return it != a.headers.end() && it->second == version;
                 })) >= n;
        },
        kDeadline);
    if (seen) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "fewer than " << n << " deliveries from webhook " << version << " within "
           << kDeadline.count() << " s (" << receiver_.count() << " arrivals in all)";
  }

  TempDir dir_;
  std::filesystem::path plugins_;
  Receiver receiver_{kSecret};
  std::unique_ptr<HostProcess> host_;
  std::unique_ptr<SteadyPoster> poster_;
  struct Swap {
    std::string version;
    Clock::time_point visible_at;  // when GET /v1/plugins first showed it serving
  };
  std::vector<Swap> swaps_;
};

TEST_F(ReloadUnderLoadTest, SwapsUnderSteadyLoadLoseNothingAndABrokenBuildNeverServes) {
  const auto variants = Variants();
  ASSERT_EQ(variants.size(), 5u);
  host_->Start();
  ASSERT_EQ(Webhook().version, "1.0.0");
  ASSERT_EQ(Webhook().generation, 1u);
  swaps_.push_back({"1.0.0", Clock::now()});
  poster_ = std::make_unique<SteadyPoster>(host_->base_url(), kKey, kEventsPerSecond, 8000, 35s);
  ASSERT_TRUE(AwaitArrivalsFrom("1.0.0", kArrivalsPerGeneration));

  // 1.0.1, 1.0.2: inotify sees the rename.
  for (size_t i = 0; i < 2; ++i) {
    ReplaceByRename(variants[i]);
    ASSERT_TRUE(AwaitServing("1.0." + std::to_string(i + 1)));
    ASSERT_TRUE(AwaitArrivalsFrom("1.0." + std::to_string(i + 1), kArrivalsPerGeneration));
  }
  // 1.0.3: SIGHUP alone.
  {
    InPlaceWrite write(plugins_ / "webhook.so", variants[2]);
    host_->Signal(SIGHUP);
    ASSERT_TRUE(AwaitServing("1.0.3"));
  }
  ASSERT_TRUE(AwaitArrivalsFrom("1.0.3", kArrivalsPerGeneration));
  // 1.0.4: inotify again.
  ReplaceByRename(variants[3]);
  ASSERT_TRUE(AwaitServing("1.0.4"));
  ASSERT_TRUE(AwaitArrivalsFrom("1.0.4", kArrivalsPerGeneration));
  // 1.0.5: the admin endpoint alone; it answers once the swap is published.
  {
    InPlaceWrite write(plugins_ / "webhook.so", variants[4]);
    auto r = HttpClient(host_->base_url()).PostJson("/v1/plugins/webhook/reload", "{}", kAdmin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.json()->getValue<bool>("ok")) << r.body;
    EXPECT_NE(JsonString(r.json(), "message").find("webhook 1.0.5"), std::string::npos) << r.body;
    EXPECT_EQ(Webhook().version, "1.0.5") << "the reload answered before publishing";
    swaps_.push_back({"1.0.5", Clock::now()});
  }
  ASSERT_TRUE(AwaitArrivalsFrom("1.0.5", kArrivalsPerGeneration));
  const WebhookState good = Webhook();
  EXPECT_EQ(good.generation, 6u) << "one generation per swap";
  EXPECT_TRUE(good.last_reload_ok) << good.last_reload_message;

  // The sixth replacement is refused; 1.0.5 keeps serving and keeps delivering.
  ReplaceByRename(CRMHOST_BROKEN_WEBHOOK_SO);
  WebhookState refused;
  ASSERT_TRUE(Eventually(
      [&] {
        refused = Webhook();
        return !refused.last_reload_ok;
      },
      kDeadline))
      << "the broken build was never tried: " << refused.last_reload_message;
  EXPECT_NE(refused.last_reload_message.find("abi_major"), std::string::npos)
      << "the refusal names the failing field: " << refused.last_reload_message;
  EXPECT_EQ(refused.version, "1.0.5");
  EXPECT_EQ(refused.generation, good.generation);
  EXPECT_EQ(refused.sha256, good.sha256);
  const size_t from_105 = [&] {
    size_t n = 0;
    for (const auto& a : receiver_.arrivals())
      n += a.headers.count(kVersionHeader) && a.headers.at(kVersionHeader) == "1.0.5";
    return n;
  }();
  ASSERT_TRUE(AwaitArrivalsFrom("1.0.5", from_105 + kArrivalsPerGeneration))
      << "the serving generation stopped delivering after the refused reload";

  poster_->Stop();
  EXPECT_EQ(poster_->failures(), std::vector<std::string>{})
      << "ingest refused events during swaps";
  const auto acknowledged = poster_->acknowledged();
  ASSERT_GT(acknowledged.size(), 0u);

  // Drained: every acknowledged event delivered, none pending or leased (so none can come again).
  HttpClient api(host_->base_url());
  EXPECT_TRUE(receiver_.WaitUntil(
      [&](const std::vector<Arrival>& all) { return all.size() >= acknowledged.size(); },
      kDeadline))
      << receiver_.count() << " arrivals for " << acknowledged.size() << " acknowledged events";
  EXPECT_TRUE(Eventually(
      [&] {
        return ListDeliveries(api, kKey, "status=pending&limit=1").empty() &&
               ListDeliveries(api, kKey, "status=leased&limit=1").empty();
      },
      kDeadline));
  ASSERT_TRUE(receiver_.WaitIdle(kDeadline));
  const auto arrivals = receiver_.arrivals();

  const std::set<std::string> builds = {"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5"};
  std::map<std::string, int> by_webhook_id;
  std::map<std::string, std::vector<const Arrival*>> by_email;
  std::map<std::string, size_t> by_version;
  size_t late_from_retired = 0;
  for (const auto& a : arrivals) {
    EXPECT_TRUE(a.verified()) << a.webhook_id;
    EXPECT_EQ(a.answered_status, 204);
    ++by_webhook_id[a.webhook_id];
    by_email[JsonString(ParseJsonObject(a.body)->getObject("visitor"), "email")].push_back(&a);
    auto version = a.headers.find(kVersionHeader);
    ASSERT_NE(version, a.headers.end()) << a.webhook_id << " carries no " << kVersionHeader;
    EXPECT_EQ(builds.count(version->second), 1u)
        << a.webhook_id << " came from " << version->second;
    ++by_version[version->second];
    // Arrival::headers keeps one value per name, so a second version header would go unseen; the
    // user-agent names the build independently, and both must agree.
    EXPECT_EQ(a.headers.count("user-agent") ? a.headers.at("user-agent") : "",
              "crmhost-webhook/" + version->second)
        << a.webhook_id;
    // A call that starts after a swap is visible uses the new generation: only calls already in
    // flight may still arrive from the one it retired.
    for (size_t i = 1; i < swaps_.size(); ++i)
      if (a.at > swaps_[i].visible_at + kInFlightGrace) {
        bool retired = false;
        for (size_t j = 0; j < i; ++j) retired |= version->second == swaps_[j].version;
        late_from_retired += retired;
      }
  }
  for (const auto& [id, n] : by_webhook_id) EXPECT_EQ(n, 1) << id << " arrived " << n << " times";
  std::vector<const AcknowledgedEvent*> missing;
  for (const auto& e : acknowledged) {
    auto it = by_email.find(e.email);
    if (it == by_email.end()) {
      missing.push_back(&e);
    } else {
      EXPECT_EQ(it->second.size(), 1u) << e.email << " " << e.event_id;
    }
  }
  for (size_t i = 0; i < missing.size() && i < 5; ++i) {
    auto rows = ListDeliveries(api, kKey, "event_id=" + missing[i]->event_id);
    ADD_FAILURE() << "acknowledged, never arrived: " << missing[i]->email << " "
                  << missing[i]->event_id << ", delivery "
                  << (rows.empty()
                          ? "none"
                          : rows[0].id + " " + rows[0].status + " attempts " +
                                std::to_string(rows[0].attempts) + " " + rows[0].last_error);
  }
  EXPECT_EQ(missing.size(), 0u) << "acknowledged events that never arrived";
  EXPECT_EQ(arrivals.size(), acknowledged.size()) << "arrivals that were never acknowledged";
  EXPECT_EQ(late_from_retired, 0u) << "new calls went to a retired generation";
  EXPECT_EQ(by_version.size(), builds.size()) << "every build served some deliveries";
  EXPECT_GT(by_version.size(), 1u) << "the swaps happened under load";

  // A sample tied through the API: event -> its one delivery -> the arrival with that webhook-id.
  for (size_t i = 0; i < acknowledged.size(); i += acknowledged.size() / 20 + 1) {
    auto rows = ListDeliveries(api, kKey, "event_id=" + acknowledged[i].event_id);
    ASSERT_EQ(rows.size(), 1u) << acknowledged[i].event_id;
    EXPECT_EQ(rows[0].status, "delivered");
    EXPECT_EQ(rows[0].attempts, 1);
    auto it = by_email.find(acknowledged[i].email);
    ASSERT_NE(it, by_email.end());
    EXPECT_EQ(it->second.front()->webhook_id, rows[0].id);
  }

  const std::string log = host_->stderr_text();
  EXPECT_NE(log.find("SIGHUP: rescanning"), std::string::npos);
  EXPECT_NE(log.find("plugin_dir changed: rescanning"), std::string::npos);
  EXPECT_NE(log.find("abi_major"), std::string::npos) << "the refusal is logged";

  // Figures for the record (bench/reload.sh measures them properly).
  auto longest_gap = 0ms;
  std::vector<Clock::time_point> times;
  for (const auto& a : arrivals) times.push_back(a.at);
  std::sort(times.begin(), times.end());
  for (size_t i = 1; i < times.size(); ++i)
    longest_gap =
        std::max(longest_gap,
                 std::chrono::duration_cast<std::chrono::milliseconds>(times[i] - times[i - 1]));
  std::cout << "reload under load: " << acknowledged.size() << " events, per build:";
  for (const auto& [v, n] : by_version) std::cout << " " << v << "=" << n;
  std::cout << "; longest answer to a post " << poster_->longest_answer().count()
            << " ms; longest gap between arrivals " << longest_gap.count() << " ms\n";
}

}  // namespace
}  // namespace crmhost::testing
