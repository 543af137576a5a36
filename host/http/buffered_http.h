// A request that is already in memory, and an answer formatted into memory: what an event loop
// of HttpServer hands the handler for a request it serves itself (see http_server.h). Poco's
// HTTPServerRequestImpl and HTTPServerResponseImpl read and write the socket through a session
// with blocking calls, and ask the socket for both addresses on every request; these parse with
// Poco's HTTPRequest from memory, look the addresses up only if asked, and never block.
//
// Used by one thread, for one request.
#pragma once

#include <Poco/MemoryStream.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace crmhost {

class BufferedResponse final : public Poco::Net::HTTPServerResponse {
 public:
  // Never asked for: the loops leave requests with Expect to a thread.
  void sendContinue() override {}
  // The body stream; its length is set when the answer is taken.
  std::ostream& send() override;
  void sendFile(const std::string& path, const std::string& media_type) override;
  void sendBuffer(const void* buffer, std::size_t length) override;
  void redirect(const std::string& uri, HTTPStatus status) override;
  void requireAuthentication(const std::string& realm) override;
  bool sent() const override { return sent_; }

  // The whole answer (status line, header fields, body), once sent.
  std::string take_bytes();

 private:
  bool sent_ = false;
  std::string body_;                          // from sendBuffer
  std::optional<std::ostringstream> stream_;  // from send(); made only then (a stream is dear)
};

class BufferedRequest final : public Poco::Net::HTTPServerRequest {
 public:
  // Parses `head` (the request line and header fields, up to and including the empty line);
  // throws Poco::Net::MessageException when Poco's parser refuses it. `body` and `socket` must
  // outlive this object.
  BufferedRequest(std::string_view head, std::string_view body, BufferedResponse& response,
                  const Poco::Net::HTTPServerParams& params, const Poco::Net::StreamSocket& socket);

  std::istream& stream() override { return body_; }
  const Poco::Net::SocketAddress& clientAddress() const override;
  const Poco::Net::SocketAddress& serverAddress() const override;
  const Poco::Net::HTTPServerParams& serverParams() const override { return params_; }
  Poco::Net::HTTPServerResponse& response() const override { return response_; }
  bool secure() const override { return false; }

 private:
  Poco::MemoryInputStream body_;
  BufferedResponse& response_;
  const Poco::Net::HTTPServerParams& params_;
  const Poco::Net::StreamSocket& socket_;
  mutable std::optional<Poco::Net::SocketAddress> client_, server_;  // looked up when asked
};

}  // namespace crmhost
