// The test programs' main: doctest's, plus one rule of the suite. A test case that
// makes no assertion cannot fail, so it fails: the run exits non-zero and names it.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::mutex g_mu;
std::vector<std::string> g_silent;  // test cases that asserted nothing

struct NoAssertionListener : doctest::IReporter {
  explicit NoAssertionListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& data) override { current_ = data.m_name; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    if (stats.numAssertsCurrentTest == 0 && stats.failure_flags == 0) {
      std::lock_guard lock(g_mu);
      g_silent.push_back(current_);
    }
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

 private:
  std::string current_;
};

}  // namespace

REGISTER_LISTENER("no-assertion", 1, NoAssertionListener);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int result = context.run();
  if (context.shouldExit()) return result;
  std::lock_guard lock(g_mu);
  for (const auto& name : g_silent) {
    std::cerr << "test case \"" << name << "\" made no assertion: it cannot fail\n";
  }
  return g_silent.empty() ? result : 1;
}
