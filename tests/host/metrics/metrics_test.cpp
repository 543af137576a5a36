#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

TEST(MetricsTest, LabelValuesAreEscapedAsTheTextFormatWants) {
  PrometheusText out;
  out.sample("x", {"a"}, {"back\\slash \"quoted\"\nnext"}, 2);
  EXPECT_EQ(out.text(), "x{a=\"back\\\\slash \\\"quoted\\\"\\nnext\"} 2\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndTheCountIsTheInfBucket) {
  Family<Histogram> h("h_seconds", "help", {"adapter"});
  h.with({"w"}).observe(0.0004);  // the first bucket
  h.with({"w"}).observe(0.2);     // le 0.25
  h.with({"w"}).observe(100);     // only +Inf
  PrometheusText out;
  h.write(out);
  const std::string& t = out.text();
  EXPECT_NE(t.find("# TYPE h_seconds histogram\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{adapter=\"w\",le=\"0.0005\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{adapter=\"w\",le=\"0.1\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{adapter=\"w\",le=\"0.25\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{adapter=\"w\",le=\"30\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{adapter=\"w\",le=\"+Inf\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_count{adapter=\"w\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_sum{adapter=\"w\"} 100.2004\n"), std::string::npos) << t;
}

TEST(MetricsTest, ASeriesIsTheSameObjectEachTime) {
  Family<Counter> c("c_total", "help", {"tenant"});
  Counter& first = c.with({"acme"});
  first.add(2);
  EXPECT_EQ(&c.with({"acme"}), &first);
  EXPECT_EQ(c.with({"acme"}).value(), 2u);
  EXPECT_EQ(c.with({"beta"}).value(), 0u);
}

}  // namespace
}  // namespace crmhost
