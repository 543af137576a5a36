#include "cli/api_client.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include <cstdlib>
#include <iterator>
#include <sstream>

namespace crmhost {

Expected<ApiClient> ApiClient::from_args(std::vector<std::string>& args) {
  ApiClient c;
  if (const char* url = std::getenv("CRMHOST_URL")) c.url_ = url;
  if (const char* key = std::getenv("CRMHOST_KEY")) c.key_ = key;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--url" && i + 1 < args.size())
      c.url_ = args[++i];
    else if (args[i] == "--key" && i + 1 < args.size())
      c.key_ = args[++i];
    else if (args[i] == "--json")
      c.json_ = true;
    else
      rest.push_back(args[i]);
  }
  args = std::move(rest);
  if (c.url_.empty())
    return Error{"which crmhost? pass --url http://HOST:PORT or set CRMHOST_URL",
                 ErrorKind::kBadInput};
  if (c.key_.empty())
    return Error{"pass --key (a tenant's API key or the admin key) or set CRMHOST_KEY",
                 ErrorKind::kBadInput};
  return c;
}

Expected<ApiAnswer> ApiClient::call(const std::string& method, const std::string& target,
                                    const std::string& json_body) const {
  try {
    Poco::URI uri(url_);
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + key_);
    if (method == "POST") {
      const std::string body = json_body.empty() ? "{}" : json_body;
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
      session.sendRequest(request) << body;
    } else {
      session.sendRequest(request);
    }
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    ApiAnswer a;
    a.status = response.getStatus();
    a.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    try {
      a.json = Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
    }
    return a;
  } catch (const Poco::Exception& e) {
    return Error{"cannot reach crmhost at " + url_ + ": " + e.displayText(),
                 ErrorKind::kUnavailable};
  }
}

std::string describe_problem(const ApiAnswer& a) {
  std::string message = a.body;
  if (a.json && a.json->has("message")) message = a.json->getValue<std::string>("message");
  return message + " (HTTP " + std::to_string(a.status) + ")";
}

std::string query_value(const std::string& text) {
  std::string out;
  Poco::URI::encode(text, "&=+#?/", out);
  return out;
}

}  // namespace crmhost
