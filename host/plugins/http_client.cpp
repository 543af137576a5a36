#include "plugins/http_client.h"

#include <cstring>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/URI.h>

#include <istream>

namespace crmhost {

bool credential_may_travel_to(std::string_view url) {
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) return true;
  if (url.rfind("http://", 0) != 0) return false;
  rest = url.substr(7);
  // Plain HTTP only to this machine, where nothing is on a wire (tests, a local proxy).
  for (std::string_view host : {"127.0.0.1", "localhost", "[::1]"})
    if (rest.rfind(host, 0) == 0 && (rest.size() == host.size() || rest[host.size()] == ':' ||
                                     rest[host.size()] == '/'))
      return true;
  return false;
}

namespace {

std::string to_string(crmh_str s) { return std::string(s.ptr ? s.ptr : "", s.len); }

// `target` with what may not stand in a request target (RFC 9112 §3.2: spaces, controls, non-ASCII,
// " < > \ ^ ` { | }) percent-encoded; every '%' escape the adapter wrote stays as it is.
std::string encode_illegal(const std::string& target) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : target) {
    bool illegal = c <= 0x20 || c >= 0x7F || std::strchr("\"<>\\^`{|}", c) != nullptr;
    if (!illegal) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out.push_back('%');
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

HttpExchange failure(int32_t code, std::string error) {
  HttpExchange x;
  x.transport_error = code;
  x.error = std::move(error);
  return x;
}

}  // namespace

HttpExchange HttpClient::send(const crmh_http_request& request, int64_t deadline_ms) {
  Poco::URI uri;
  try {
    uri = Poco::URI(to_string(request.url));
  } catch (const Poco::Exception& e) {
    return failure(CRMH_NET_BAD_URL, "bad URL: " + e.message());
  }
  if ((uri.getScheme() != "http" && uri.getScheme() != "https") || uri.getHost().empty())
    return failure(CRMH_NET_BAD_URL, "URL must be http:// or https:// with a host");
  std::string key = uri.getScheme() + "://" + uri.getHost() + ":" + std::to_string(uri.getPort());
  // The request target exactly as the adapter wrote it: Poco's path is decoded, and re-encoding
  // it would turn an adapter's %2B, %40 or %2F back into '+', '@' or '/' (Dataverse keys,
  // HubSpot's /contacts/<email>; crm-contracts §3.3).
  const std::string text = to_string(request.url);
  size_t authority = text.find("://") + 3;
  size_t target = text.find_first_of("/?#", authority);
  std::string path = target == std::string::npos ? "" : text.substr(target);
  if (size_t fragment = path.find('#'); fragment != std::string::npos) path.resize(fragment);
  if (path.empty() || path.front() != '/') path.insert(0, "/");
  path = encode_illegal(path);

  for (int round = 0; round < 2; ++round) {
    auto& session = sessions_[key];
    bool reused = session != nullptr;
    if (!session) {
      if (uri.getScheme() == "https")
        session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort());
      else
        session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
      session->setKeepAlive(true);
    }
    HttpExchange x = exchange(*session, request, path, deadline_ms);
    if (x.transport_error != CRMH_NET_OK) sessions_.erase(key);
    // A kept-alive connection the server closed while idle fails before any response: that one
    // exchange is retried once on a fresh connection. Anything else is the caller's to classify.
    if (!(reused && x.transport_error == CRMH_NET_RESET && x.status == 0)) return x;
  }
  return failure(CRMH_NET_RESET, "connection reset");
}

HttpExchange HttpClient::exchange(Poco::Net::HTTPClientSession& session,
                                  const crmh_http_request& request, const std::string& path,
                                  int64_t deadline_ms) {
  int64_t remaining = deadline_ms - clock_.monotonic_ms();
  if (remaining <= 0) return failure(CRMH_NET_TIMEOUT, "deadline passed before sending");
  // Poco applies the timeout per socket operation; the adapter's deadline bounds each step.
  session.setTimeout(Poco::Timespan(remaining * 1000));
  try {
    Poco::Net::HTTPRequest req(to_string(request.method), path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setKeepAlive(true);
    for (size_t i = 0; i < request.header_count; ++i)
      req.set(to_string(request.headers[i].name), to_string(request.headers[i].value));
    req.setContentLength(static_cast<std::streamsize>(request.body.len));
    std::ostream& out = session.sendRequest(req);
    if (request.body.len) out.write(request.body.ptr, static_cast<std::streamsize>(request.body.len));
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    HttpExchange x;
    x.status = static_cast<int32_t>(resp.getStatus());
    for (const auto& h : resp) x.headers.emplace_back(h.first, h.second);
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      if (x.body.size() < kMaxResponseBody)
        x.body.append(buf, static_cast<size_t>(in.gcount()));
    }
    return x;
  } catch (const Poco::TimeoutException& e) {
    return failure(CRMH_NET_TIMEOUT, "timed out: " + e.displayText());
  } catch (const Poco::Net::SSLException& e) {
    return failure(CRMH_NET_TLS, "TLS: " + e.displayText());
  } catch (const Poco::Net::ConnectionRefusedException& e) {
    return failure(CRMH_NET_CONNECT, "connection refused: " + e.displayText());
  } catch (const Poco::Net::HostNotFoundException& e) {
    return failure(CRMH_NET_CONNECT, "host not found: " + e.displayText());
  } catch (const Poco::Exception& e) {
    return failure(CRMH_NET_RESET, e.displayText());
  } catch (const std::exception& e) {
    return failure(CRMH_NET_RESET, e.what());
  }
}

}  // namespace crmhost
