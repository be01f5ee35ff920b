// Fuzz target: the local API's request parser (handle_request_line): one
// request line, as the server reads it from its socket, against a ControlApi
// that answers every command with canned data. Whatever the line, the answer
// is one JSON object with "ok" (and "error" when not ok).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "control/api/api_server.h"

using namespace podlane;

namespace {

class CannedApi : public ControlApi {
public:
    Json status() override { return Json{{"node", "node1"}}; }
    Json endpoint_list() override { return Json::array(); }
    Result<Json> endpoint_add(const EndpointConfig& ep) override { return Json{{"id", ep.id}, {"ip", ep.ip.str()}}; }
    Result<void> endpoint_delete(const std::string&) override { return {}; }
    Json stats() override { return Json{{"workers", Json::array()}}; }
    Json ipcache_list() override { return Json::array(); }
    Json identity_list() override { return Json::array(); }
    Json neighbor_list() override { return Json::array(); }
    Json service_list() override { return Json::array(); }
    Result<Json> service_maglev(const std::string& s) override { return Json{{"service", s}}; }
    Result<Json> service_update(const std::string&) override { return Json{{"changed", Json::array()}}; }
    Result<Json> service_delete(const std::string& n) override { return Json{{"changed", Json::array({n})}}; }
    Json ct_list() override { return Json::array(); }
    Json nat_list() override { return Json::array(); }
    Json flow_list(uint64_t since, uint32_t) override { return Json{{"events", Json::array()}, {"next", since}}; }
    Result<Json> cni_add(const CniAddRequest&) override { return Json{{"ip", "10.200.0.11"}}; }
    Result<Json> cni_del(const CniKey&) override { return Json::object(); }
    Result<Json> cni_check(const CniKey&) override { return Json::object(); }
    Result<Json> cni_gc(const std::vector<CniKey>&) override { return Json::object(); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static CannedApi api;
    const std::string answer = handle_request_line(api, std::string_view(reinterpret_cast<const char*>(data), size));
    const Json j = Json::parse(answer, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("ok") || (j["ok"] == false && !j.contains("error"))) {
        std::fprintf(stderr, "api: the answer is not {\"ok\": ...}: %s\n", answer.c_str());
        std::abort();
    }
    return 0;
}
