#include "control/sources/k8s/k8s_node_cidr.h"

#include <cstdio>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "control/sources/k8s/k8s_client.h"
#include "control/sources/k8s/kubeconfig.h"

namespace podlane {

namespace asio = boost::asio;
using Json = nlohmann::json;

namespace {

/// The first IPv4 CIDR of the Node's spec.podCIDRs / spec.podCIDR; an error saying what is missing.
Result<Ipv4Prefix> cidr_of(const Json& node) {
    const Json spec = node.value("spec", Json::object());
    std::vector<std::string> cidrs;
    if (spec.contains("podCIDRs") && spec["podCIDRs"].is_array())
        for (const Json& c : spec["podCIDRs"])
            if (c.is_string())
                cidrs.push_back(c.get<std::string>());
    if (cidrs.empty() && spec.contains("podCIDR") && spec["podCIDR"].is_string())
        cidrs.push_back(spec["podCIDR"].get<std::string>());
    for (const std::string& c : cidrs) {
        if (c.find(':') != std::string::npos)
            continue; // IPv6
        auto p = Ipv4Prefix::parse(c);
        if (!p || p->len == 0 || p->len > 30)
            return make_error("spec.podCIDRs: \"" + c + "\" is not an IPv4 CIDR of /1../30");
        return *p;
    }
    return make_error("spec.podCIDRs: no IPv4 CIDR yet (the controller manager allocates it: --allocate-node-cidrs)");
}

} // namespace

Result<Ipv4Prefix> k8s_own_pod_cidr(const Config& config, std::chrono::seconds wait) {
    auto access = resolve_kube_access(config.source.kubernetes);
    if (!access)
        return access.error();
    asio::io_context io;
    auto client = K8sClient::create(io, std::move(*access), std::chrono::milliseconds(config.source.kubernetes.timeout_ms));
    if (!client)
        return client.error();
    const std::string target = "/api/v1/nodes/" + config.node_name;
    Result<Ipv4Prefix> out = make_error("no answer");
    const auto deadline = std::chrono::steady_clock::now() + wait;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            std::string last;
            for (;;) {
                auto reply = co_await (*client)->get(target);
                if (!reply)
                    last = reply.error().message;
                else if (reply->status != 200)
                    last = "HTTP " + std::to_string(reply->status) + " " + reply->reason;
                else {
                    const Json node = Json::parse(reply->body, nullptr, false);
                    auto cidr = node.is_object() ? cidr_of(node) : Result<Ipv4Prefix>(make_error("not JSON"));
                    if (cidr) {
                        out = *cidr;
                        co_return;
                    }
                    last = cidr.error().message;
                }
                if (std::chrono::steady_clock::now() >= deadline) {
                    out = make_error("ipam kubernetes: no PodCIDR for this node from Node " + config.node_name + " (GET " +
                                     target + "): " + last);
                    co_return;
                }
                std::fprintf(stderr, "podlaned: ipam kubernetes: Node %s: %s; asking again\n", config.node_name.c_str(),
                             last.c_str());
                boost::system::error_code ec;
                asio::steady_timer t(io, std::chrono::seconds(1));
                co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        },
        asio::detached);
    io.run();
    return out;
}

} // namespace podlane
