#include "cni/cni_plugin.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "cni/cni_config.h"
#include "cni/cni_result.h"
#include "common/pending_delete.h"

namespace podlane::cni {

namespace {

/// A successful command: the JSON to print, or null to print nothing.
using Printed = CniResult<Json>;

/// podlaned's answer to one request: unreachable → 11 (try again later),
/// refused → 100 with podlaned's message.
Printed ask(const AgentCall& agent, const NetConf& conf, const std::string& cmd, const Json& args) {
    AgentReply r = agent(conf.socket, cmd, args);
    if (r.status == AgentReply::Status::Ok)
        return r.data;
    if (r.status == AgentReply::Status::Refused)
        return cni_error(Code::AgentRefused, "podlaned refused " + cmd + ": " + r.error);
    return cni_error(Code::TryAgainLater, "podlaned is not reachable: " + r.error,
                     "podlaned attaches this node's pods; try again once it runs (API socket " + conf.socket + ")");
}

Json key_args(const CniEnv& env) { return Json{{"container_id", env.container_id}, {"ifname", env.ifname}}; }

Printed cmd_add(const CniEnv& env, const NetConf& conf, const AgentCall& agent) {
    std::vector<Ipv4Addr> wanted = conf.ips;
    if (env.args.ip)
        wanted.push_back(*env.args.ip);
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    if (wanted.size() > 1) {
        std::string list;
        for (Ipv4Addr ip : wanted)
            list += (list.empty() ? "" : ", ") + ip.str();
        return cni_error(Code::InvalidConfig, "podlane assigns one IPv4 address per pod interface, but " + list +
                                                  " were requested (runtimeConfig/args ips and CNI_ARGS IP)");
    }
    if (::access(env.netns.c_str(), F_OK) != 0)
        return cni_error(Code::InvalidEnv, "CNI_NETNS " + env.netns + ": " + std::strerror(errno),
                         "the pod's network namespace must exist before ADD");
    Json args = key_args(env);
    args["netns"] = env.netns;
    if (!env.args.pod_namespace.empty())
        args["pod_namespace"] = env.args.pod_namespace;
    if (!env.args.pod_name.empty())
        args["pod_name"] = env.args.pod_name;
    if (!conf.labels.empty())
        args["labels"] = conf.labels;
    if (!wanted.empty())
        args["ip"] = wanted.front().str();
    if (auto mac = env.args.mac ? env.args.mac : conf.mac)
        args["mac"] = mac->str();
    for (const PortMapping& p : conf.port_mappings)
        args["host_ports"].push_back(
            Json{{"host_port", p.host_port}, {"container_port", p.container_port}, {"protocol", p.protocol}});
    if (env.args.vhost || conf.vhost) {
        args["vhost"] = true;
        args["vhost_socket_dir"] = conf.vhost_socket_dir;
    }
    auto attached = ask(agent, conf, "cni.add", args);
    if (!attached)
        return attached;
    return add_result(conf, *attached);
}

/// DEL is best-effort (CNI spec): the attachment is recorded as a pending
/// DEL before podlaned is asked, and the record is forgotten once podlaned
/// answered. While podlaned is unreachable the record stays, DEL succeeds,
/// and podlaned releases the attachment when it starts (common/pending_delete.h).
/// Only when the record cannot be written does DEL fail with code 11.
Printed cmd_del(const CniEnv& env, const NetConf& conf, const AgentCall& agent) {
    const std::string dir = pending_delete_dir(conf.socket);
    const PendingDelete pending{env.container_id, env.ifname};
    auto recorded = record_pending_delete(dir, pending);
    auto r = ask(agent, conf, "cni.del", key_args(env));
    if (!r && r.error().code == Code::TryAgainLater) {
        if (recorded)
            return Json(); // podlaned releases it when it is back
        return cni_error(Code::TryAgainLater, r.error().msg,
                         "and the DEL could not be recorded for later: " + recorded.error().message);
    }
    if (recorded)
        (void)forget_pending_delete(dir, pending); // podlaned answered; a leftover record is harmless
    return r ? Printed(Json()) : r; // DEL prints nothing; an unknown container is a success
}

Printed cmd_check(const CniEnv& env, const NetConf& conf, const AgentCall& agent) {
    if (!conf.prev_result.is_object())
        return cni_error(Code::InvalidConfig, "CHECK needs prevResult", "the runtime passes the result ADD returned");
    auto r = ask(agent, conf, "cni.check", key_args(env));
    if (!r)
        return r;
    if (!r->value("known", false))
        return cni_error(Code::UnknownContainer,
                         "podlaned has no attachment for container " + env.container_id + " interface " + env.ifname);
    std::string problems;
    for (const Json& p : r->value("problems", Json::array()))
        problems += (problems.empty() ? "" : "; ") + p.get<std::string>();
    if (!problems.empty())
        return cni_error(Code::CheckFailed, "pod interface " + env.ifname + " of container " + env.container_id +
                                                " is not as podlane attached it: " + problems);
    if (auto bad = prev_result_mismatch(conf.prev_result, r->at("attachment"), env.ifname, env.netns))
        return cni_error(Code::CheckFailed, *bad);
    return Json();
}

Printed cmd_gc(const NetConf& conf, const AgentCall& agent) {
    if (!conf.has_valid_attachments)
        return cni_error(Code::InvalidConfig, "GC needs cni.dev/valid-attachments",
                         "without the list every attachment would be released");
    Json valid = Json::array();
    for (const auto& [id, ifname] : conf.valid_attachments)
        valid.push_back(Json{{"container_id", id}, {"ifname", ifname}});
    auto r = ask(agent, conf, "cni.gc", Json{{"valid", valid}});
    return r ? Printed(Json()) : r;
}

Printed cmd_status(const NetConf& conf, const AgentCall& agent) {
    auto r = ask(agent, conf, "cni.status", Json::object());
    if (!r)
        return cni_error(Code::NotAvailable, r.error().msg, r.error().details);
    if (r->value("free", 0) == 0)
        return cni_error(Code::NotAvailable, "no free pod address left in " + r->value("pod_cidr", std::string("the PodCIDR")));
    return Json();
}

/// The cniVersion to answer errors in: the config's, when stdin says one.
std::string version_of(const std::string& stdin_text) {
    try {
        Json j = Json::parse(stdin_text);
        if (j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string())
            return j["cniVersion"].get<std::string>();
    } catch (const Json::exception&) {
    }
    return version_json()["cniVersion"].get<std::string>();
}

/// What the plugin prints. An error message may quote an environment
/// variable or a config value byte for byte; bytes that are not UTF-8 are
/// printed as U+FFFD instead of making dump() throw (and the plugin abort
/// without printing anything: found by fuzzing, tests/fuzz/regressions/cni_plugin).
std::string printed(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

PluginOutput failed(const CniError& e, const std::string& version) {
    return PluginOutput{printed(error_json(e, version)), 1};
}

} // namespace

PluginOutput run_plugin(const Getenv& getenv, const std::string& stdin_text, const AgentCall& agent) {
    auto env = read_cni_env(getenv);
    if (!env)
        return failed(env.error(), version_of(stdin_text));
    if (env->command == "VERSION")
        return PluginOutput{printed(version_json()), 0};
    auto conf = parse_netconf(stdin_text, env->command);
    if (!conf)
        return failed(conf.error(), version_of(stdin_text));
    Printed out = env->command == "ADD"     ? cmd_add(*env, *conf, agent)
                  : env->command == "DEL"   ? cmd_del(*env, *conf, agent)
                  : env->command == "CHECK" ? cmd_check(*env, *conf, agent)
                  : env->command == "GC"    ? cmd_gc(*conf, agent)
                                            : cmd_status(*conf, agent);
    if (!out)
        return failed(out.error(), conf->cni_version);
    return PluginOutput{out->is_null() ? "" : printed(*out), 0};
}

} // namespace podlane::cni
