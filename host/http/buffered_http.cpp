#include "http/buffered_http.h"

#include <Poco/Exception.h>

namespace crmhost {

std::ostream& BufferedResponse::send() {
  sent_ = true;
  if (!stream_) stream_.emplace();
  return *stream_;
}

void BufferedResponse::sendFile(const std::string& path, const std::string&) {
  throw Poco::NotImplementedException("sending a file from an event loop: " + path);
}

void BufferedResponse::sendBuffer(const void* buffer, std::size_t length) {
  sent_ = true;
  body_.append(static_cast<const char*>(buffer), length);
}

void BufferedResponse::redirect(const std::string& uri, HTTPStatus status) {
  setStatusAndReason(status);
  set("Location", uri);
  sent_ = true;
}

void BufferedResponse::requireAuthentication(const std::string& realm) {
  setStatusAndReason(HTTP_UNAUTHORIZED);
  set("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
  sent_ = true;
}

std::string BufferedResponse::take_bytes() {
  std::string body = std::move(body_);
  if (stream_) body += std::move(*stream_).str();
  // The whole body is known: always a Content-Length, never chunks.
  setChunkedTransferEncoding(false);
  setContentLength64(static_cast<Poco::Int64>(body.size()));
  std::ostringstream head;
  write(head);
  std::string bytes = std::move(head).str();
  bytes += body;
  return bytes;
}

BufferedRequest::BufferedRequest(std::string_view head, std::string_view body,
                                 BufferedResponse& response,
                                 const Poco::Net::HTTPServerParams& params,
                                 const Poco::Net::StreamSocket& socket)
    : body_(body.data(), static_cast<std::streamsize>(body.size())),
      response_(response),
      params_(params),
      socket_(socket) {
  Poco::MemoryInputStream in(head.data(), static_cast<std::streamsize>(head.size()));
  read(in);
}

const Poco::Net::SocketAddress& BufferedRequest::clientAddress() const {
  if (!client_) client_ = socket_.peerAddress();
  return *client_;
}

const Poco::Net::SocketAddress& BufferedRequest::serverAddress() const {
  if (!server_) server_ = socket_.address();
  return *server_;
}

}  // namespace crmhost
