// The HTTP server's deferred answers (HttpRequest::defer): a handler that
// waits on something else (the group commit) without holding a worker.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "http/client.h"
#include "http/http.h"

namespace cs {
namespace {

class Served {
 public:
  explicit Served(HttpHandler handler) : Served(OneWorker(), std::move(handler)) {}
  Served(const HttpServerOptions& o, HttpHandler handler) {
    auto s = CreateHttpServer(o, std::move(handler), nullptr);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~Served() {
    server_->Stop();
    thread_.join();
  }
  static HttpServerOptions OneWorker() {
    HttpServerOptions o;
    o.threads = 1;  // one worker: a deferred request must not hold it
    return o;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

Result<HttpClientResponse> Get(const std::string& url) {
  HttpClientOptions o;
  o.timeout_ms = 10000;
  return CreateHttpClient(o)->Send("GET", url, {}, "");
}

// covers: F-01 (the 200 of a webhook leaves after its commit, with no worker waiting)
TEST(HttpServerDeferTest, ADeferredRequestHoldsNoWorkerAndIsAnsweredLater) {
  std::promise<void> other_served;
  std::shared_future<void> other_done = other_served.get_future().share();
  std::vector<std::thread> answerers;
  Served server([&](const HttpRequest& req) -> HttpResponse {
    if (req.path != "/slow") return JsonResponse(200, R"({"fast":true})");
    HttpRespond respond = req.defer();
    // Answered only once the other request was served by the one worker.
    answerers.emplace_back([respond, other_done] {
      other_done.wait();
      respond([] { return JsonResponse(200, R"({"slow":true})"); });
    });
    return ErrorResponse(500, "ignored", "the handler's own return value is ignored once deferred", req.request_id);
  });
  auto slow = std::async(std::launch::async, [&] { return Get(server.url("/slow")); });
  auto fast = Get(server.url("/fast"));
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(fast->body, R"({"fast":true})");
  other_served.set_value();
  auto answered = slow.get();
  ASSERT_TRUE(answered.ok()) << answered.status().ToString();
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body, R"({"slow":true})");
  for (auto& t : answerers) t.join();
}

TEST(HttpServerDeferTest, AnAnswerNeverGivenIsA500AndAHandlerThatThrowsAnswersOnce) {
  Served server([&](const HttpRequest& req) -> HttpResponse {
    HttpRespond respond = req.defer();
    if (req.path == "/dropped") return HttpResponse{};  // every copy of respond dies unanswered
    respond([] { return JsonResponse(200, R"({"first":true})"); });
    throw std::runtime_error("a bug after answering");
  });
  auto dropped = Get(server.url("/dropped"));
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(dropped->status, 500);
  EXPECT_NE(dropped->body.find("internal_error"), std::string::npos);
  HttpClientOptions o;
  o.timeout_ms = 10000;
  auto client = CreateHttpClient(o);
  for (int i = 0; i < 2; ++i) {  // the same keep-alive connection: one answer each, nothing left over
    auto thrown = client->Send("GET", server.url("/thrown"), {}, "");
    ASSERT_TRUE(thrown.ok()) << thrown.status().ToString();
    EXPECT_EQ(thrown->status, 200);
    EXPECT_EQ(thrown->body, R"({"first":true})");
  }
}

// A request that waits (a call to Meta) runs on a worker, so the socket
// thread keeps serving the quick paths; a quick path's continuation that
// must wait after all is offloaded to a worker.
TEST(HttpServerInlineTest, RequestsThatMayWaitRunOnWorkersAndQuickOnesOnTheSocketThread) {
  HttpServerOptions o;
  o.threads = 1;
  o.io_threads = 1;
  o.runs_inline = [](const HttpRequest& req) { return req.path.rfind("/quick", 0) == 0; };
  std::promise<void> quick_served;
  std::shared_future<void> quick_done = quick_served.get_future().share();
  std::mutex mu;
  std::thread::id waiter, quick, offloaded;
  Served server(o, [&](const HttpRequest& req) -> HttpResponse {
    if (req.path == "/wait") {
      {
        std::lock_guard lock(mu);
        waiter = std::this_thread::get_id();
      }
      quick_done.wait();  // would never end if it held the one socket thread
      return JsonResponse(200, R"({"waited":true})");
    }
    {
      std::lock_guard lock(mu);
      quick = std::this_thread::get_id();
    }
    if (req.path == "/quick") return JsonResponse(200, R"({"quick":true})");
    EXPECT_TRUE(req.offload != nullptr);
    HttpRespond respond = req.defer();
    req.offload([respond, &mu, &offloaded] {
      std::lock_guard lock(mu);
      offloaded = std::this_thread::get_id();
      respond([] { return JsonResponse(200, R"({"offloaded":true})"); });
    });
    return HttpResponse{};
  });
  auto waiting = std::async(std::launch::async, [&] { return Get(server.url("/wait")); });
  while (true) {  // the worker has taken /wait
    {
      std::lock_guard lock(mu);
      if (waiter != std::thread::id()) break;
    }
    std::this_thread::yield();
  }
  auto fast = Get(server.url("/quick"));
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(fast->body, R"({"quick":true})");
  quick_served.set_value();
  auto waited = waiting.get();
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_EQ(waited->body, R"({"waited":true})");
  auto later = Get(server.url("/quick-offload"));
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->body, R"({"offloaded":true})");
  std::lock_guard lock(mu);
  EXPECT_NE(waiter, quick);
  EXPECT_EQ(offloaded, waiter);  // the one worker
}

}  // namespace
}  // namespace cs
