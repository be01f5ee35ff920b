// podlane: the operator CLI over podlaned's local API (docs/api.md).
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "client/api_client.h"
#include "cli/format.h"
#include "cli/capture.h"
#include "cli/kvstore.h"
#include "cli/observe.h"
#include "common/file.h"

namespace {

using podlane::Json;

constexpr const char* kHelp = R"(podlane: inspect and control the podlaned dataplane on this node

Usage:
  podlane [--socket PATH] [-o table|json] <command>

Commands:
  endpoint list                   the attached pod endpoints
  endpoint add --id ID --ip IP --netns NS [--mac MAC] [--ifname IF] [--label k=v]...
               [--host-port HOST[:CONTAINER][/TCP|/UDP]]...
                  [--vhost-socket PATH | --memif-socket PATH [--memif-role server|client] [--memif-zero-copy]]
                                  attach a pod (MAC defaults to 0a:58:<ip>, IF to eth0);
                                  a hostPort maps node-IP:HOST to the pod's CONTAINER port;
                                  --vhost-socket serves the pod over vhost-user at PATH
                                  (a DPDK app in the pod opens net_virtio_user,path=PATH)
                                  instead of a TAP, and --netns becomes optional;
                                  --memif-socket attaches it over memif on PATH instead: podlaned
                                  serves PATH (role server, the default) or connects to the pod's
                                  application serving it (client); --memif-zero-copy (client only)
                                  lets that application copy in podlane's own packet memory
  endpoint delete ID              detach a pod
  status [--verbose]              the agent at a glance, line by line like cilium-dbg status;
                                  --verbose adds the details (every node's health)
  stats [--stages]                per-worker and per-port counters, drops by reason; --stages:
                                  per worker and pipeline stage (parse, arp, source, to_us, decap,
                                  load_balancer, route, masquerade, encap, deliver) the packets
                                  that entered it, were translated by it and finished there
  ipcache list                    IP prefix -> security identity and tunnel endpoint
  identity list                   reserved identities and those of the local pods' label sets
  policy get                      network policies in force (NetworkPolicy, CiliumNetworkPolicy) and
                                  each local endpoint's enforcement per direction (docs/policy.md)
  neighbor list                   the uplink neighbour (ARP) cache ('neighbour' works too)
  service list                    services: frontends, types and backends with their state
    [--clustermesh-affinity]      global services only, every cluster's backends, preferred ones marked
  service maglev SERVICE          a service's Maglev table (SERVICE: name, ip:port/PROTO or id)
  service update -f FILE          add or change the services of FILE (YAML, `services:` as in the
                                  config); returns once every worker uses them. The cluster-state
                                  source's next full sync (e.g. a config reload) replaces them again
  service delete NAME             remove a service (same caveat)
  kvstore apply -f FILE [--etcd URL[,URL...]] [--prefix P] [--prune]
                                  write FILE's nodes: and services: (config schema) into etcd
                                  for podlaned's etcd source; --prune deletes the node and
                                  service keys FILE does not name (talks to etcd, not podlaned);
                                  https:// URLs take --cacert CA.pem [--cert C.pem --key K.pem]
  kvstore list [--etcd URL[,URL...]] [--prefix P]
                                  the nodes, services and ipam blocks in etcd
  observe [--last N] [-f] [--pod NAME] [--from-pod NAME] [--to-pod NAME] [--ip IP]
          [--from-ip IP] [--to-ip IP] [--port P] [--protocol tcp|udp|icmp]
          [--verdict FORWARDED|DROPPED|TRANSLATED]
                                  flow events like hubble observe: every drop with its reason and
                                  a sample of forwarded and translated packets (observe.sample_every);
                                  -f follows new events; -o json prints one JSON object per line
  cni list                        pods attached through podlane-cni (the CNI plugin), with
                                  their container, address and whether they are attached
  cni status                      PodCIDR addresses: allocated through CNI, free, capacity
  capture -w FILE [--filter EXPR] [-c N] [--duration S] [--snaplen B]
                                  write the packets podlane's ports receive that match EXPR to
                                  FILE (pcapng; tshark -r FILE) until N packets, S seconds or
                                  Ctrl-C. EXPR: [not] [src|dst] host IP, [not] [src|dst] port N,
                                  tcp, udp, icmp, pod NAME, joined by 'and'; a VXLAN/Geneve
                                  packet matches when its outer or inner packet does
  capture status | capture stop   the running (or last) capture; stop it
  bgp peers                       BGP sessions: state, uptime, prefixes received/advertised,
                                  the hold/keepalive times in use, graceful restart (docs/bgp.md)
  bgp routes                      the prefixes BGP advertises (PodCIDR, LoadBalancer/External/
                                  Cluster IPs)
  clustermesh status              each remote cluster: connected, ready, nodes, endpoints,
                                  identities, services, last error (docs/clustermesh.md)
  health status                   node health like cilium-health status: every node's IP and
                                  health endpoint probed by ICMP and HTTP (port 4240), with RTTs
  lb-ipam pools                   LB IPAM pools: disabled, conflicting, addresses available and
                                  used; LoadBalancer services left pending and why (docs/lb-ipam.md)
  ct list                         tracked (load-balanced and NATed) flows
  nat list                        source-NAT mappings (masquerade, NodePort SNAT, hairpin)
  help                            this text

Options (before or after the command):
  --socket PATH     API socket (default: $PODLANE_SOCKET, else /run/podlane/podlane.sock)
  -o, --output FMT  table (default) or json (the response's data, pretty-printed)
  -h, --help        this text

The API serves root only. Examples:
  podlane status
  podlane endpoint add --id default/web-1 --ip 10.200.0.5 --netns pod-web-1 --label app=web
  podlane stats -o json
  podlane stats --stages
  podlane ipcache list
)";

/// `podlane observe`'s filters and --last.
constexpr const char* kObserveOptions[] = {"--last", "--pod", "--from-pod", "--to-pod", "--ip", "--from-ip",
                                           "--to-ip", "--port", "--protocol", "--verdict"};

/// `podlane capture`'s options.
constexpr const char* kCaptureOptions[] = {"--filter", "--write", "--count", "--duration", "--snaplen"};

/// A command line that cannot be run as typed (exit code 2).
struct UsageError {
    std::string message;
};

struct CommandLine {
    std::vector<std::string> words;          ///< command words and positional arguments
    std::map<std::string, std::string> opts; ///< value options by canonical name, e.g. "--ip"
    std::vector<std::string> labels;         ///< --label values, in order
    std::vector<std::string> host_ports;     ///< --host-port values, in order
    bool help = false;
};

const std::vector<std::string> kEndpointAddOptions = {"--id",     "--ip",    "--netns",    "--mac",
                                                      "--ifname", "--label", "--host-port", "--vhost-socket",
                                                      "--memif-socket", "--memif-role", "--memif-zero-copy"};

CommandLine parse_args(int argc, char** argv) {
    CommandLine cl;
    bool observing = false;
    for (int i = 1; i < argc; ++i)
        observing = observing || std::string(argv[i]) == "observe";
    bool only_words = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (only_words || arg.size() < 2 || arg[0] != '-') {
            cl.words.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_words = true;
            continue;
        }
        if (arg == "-h" || arg == "--help") {
            cl.help = true;
            continue;
        }
        std::string name = arg, value;
        bool has_value = false;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        if (name == "-o")
            name = "--output";
        if (name == "-w")
            name = "--write";
        if (name == "-c")
            name = "--count";
        if (name == "-f" && !observing) // observe -f follows; elsewhere -f FILE
            name = "--file";
        if (name == "--prune" || name == "-f" || name == "--follow") { // options without a value
            cl.opts[name == "--prune" ? "--prune" : "--follow"] = "true";
            continue;
        }
        if (name == "--memif-zero-copy" || name == "--stages" || name == "--clustermesh-affinity" || name == "--verbose") {
            if (has_value)
                throw UsageError{"option " + name + " takes no value"};
            cl.opts[name] = "true";
            continue;
        }
        bool known = name == "--socket" || name == "--output" || name == "--file" || name == "--etcd" ||
                     name == "--prefix" || name == "--cacert" || name == "--cert" || name == "--key";
        for (const char* o : kCaptureOptions)
            known = known || name == o;
        for (const char* o : kObserveOptions)
            known = known || name == o;
        for (const auto& o : kEndpointAddOptions)
            known = known || name == o;
        if (!known)
            throw UsageError{"unknown option " + arg};
        if (!has_value) {
            if (i + 1 >= argc)
                throw UsageError{"option " + arg + " needs a value"};
            value = argv[++i];
        }
        if (name == "--label")
            cl.labels.push_back(value);
        else if (name == "--host-port")
            cl.host_ports.push_back(value);
        else if (!cl.opts.emplace(name, value).second)
            throw UsageError{"option " + name + " given twice"};
    }
    return cl;
}

// Builds endpoint.add's args from --id/--ip/--netns/--mac/--ifname/--label.
Json endpoint_add_args(const CommandLine& cl) {
    Json args = Json::object();
    for (const char* required : {"--id", "--ip", "--netns"})
        if (!cl.opts.count(required) && !(required == std::string("--netns") &&
                                          (cl.opts.count("--vhost-socket") || cl.opts.count("--memif-socket"))))
            throw UsageError{std::string("endpoint add needs ") + required};
    for (const auto& [name, value] : cl.opts)
        if (name != "--socket" && name != "--output") {
            std::string key = name.substr(2); // --vhost-socket -> vhost_socket
            std::replace(key.begin(), key.end(), '-', '_');
            args[key] = value;
        }
    if (cl.opts.count("--memif-zero-copy"))
        args["memif_zero_copy"] = true;
    // --host-port HOST[:CONTAINER][/PROTO], e.g. 8080:80/TCP
    for (const auto& hp : cl.host_ports) {
        const std::string bad = "--host-port \"" + hp + "\": expected HOST[:CONTAINER][/TCP|/UDP], e.g. 8080:80/TCP";
        std::string ports = hp, proto = "TCP";
        if (auto slash = hp.find('/'); slash != std::string::npos) {
            ports = hp.substr(0, slash);
            proto = hp.substr(slash + 1);
        }
        auto number = [&](const std::string& text) {
            if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
                throw UsageError{bad};
            return std::stoi(text);
        };
        Json entry = Json::object();
        const auto colon = ports.find(':');
        entry["host_port"] = number(ports.substr(0, colon));
        entry["container_port"] = colon == std::string::npos ? entry["host_port"].get<int>() : number(ports.substr(colon + 1));
        entry["protocol"] = proto;
        args["host_ports"].push_back(entry);
    }
    Json labels = Json::object();
    for (const auto& label : cl.labels) {
        auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError{"--label \"" + label + "\": expected key=value"};
        std::string key = label.substr(0, eq);
        if (labels.contains(key))
            throw UsageError{"--label " + key + " given twice"};
        labels[key] = label.substr(eq + 1);
    }
    if (!labels.empty())
        args["labels"] = labels;
    return args;
}

/// The whole of a file the CLI sends ("-" is stdin).
std::string read_input(const std::string& path) {
    if (path != "-") {
        auto text = podlane::read_file(path);
        if (!text)
            throw std::runtime_error(text.error().message);
        return std::move(*text);
    }
    std::ostringstream text;
    text << std::cin.rdbuf();
    return text.str();
}

void expect_words(const CommandLine& cl, std::size_t n, const std::string& usage) {
    if (cl.words.size() != n)
        throw UsageError{"usage: podlane " + usage};
}

/// `podlane kvstore apply|list`: talks to etcd directly.
int run_kvstore(const CommandLine& cl, const std::string& sub, const std::string& output) {
    podlane::KvstoreOptions o;
    if (cl.opts.count("--etcd")) {
        o.endpoints.clear();
        std::string list = cl.opts.at("--etcd");
        for (size_t start = 0; start <= list.size();) {
            const size_t comma = std::min(list.find(',', start), list.size());
            if (comma > start)
                o.endpoints.push_back(list.substr(start, comma - start));
            start = comma + 1;
        }
    }
    if (cl.opts.count("--prefix")) {
        o.prefix = cl.opts.at("--prefix");
        if (o.prefix.empty() || o.prefix.back() != '/')
            o.prefix += '/';
    }
    o.prune = cl.opts.count("--prune") > 0;
    auto opt = [&](const char* name) { return cl.opts.count(name) ? cl.opts.at(name) : std::string(); };
    o.ca_file = opt("--cacert");
    o.cert_file = opt("--cert");
    o.key_file = opt("--key");
    if (o.cert_file.empty() != o.key_file.empty())
        throw UsageError{"--cert and --key go together"};
    podlane::Result<Json> r = podlane::make_error("");
    if (sub == "apply") {
        expect_words(cl, 2, "kvstore apply -f FILE [--etcd URL] [--prefix P] [--prune]");
        if (!cl.opts.count("--file"))
            throw UsageError{"kvstore apply needs -f FILE"};
        r = podlane::kvstore_apply(read_input(cl.opts.at("--file")), o);
    } else if (sub == "list") {
        expect_words(cl, 2, "kvstore list [--etcd URL] [--prefix P]");
        if (o.prune)
            throw UsageError{"--prune is only valid with 'kvstore apply'"};
        r = podlane::kvstore_list(o);
    } else {
        throw UsageError{sub.empty() ? "kvstore needs a subcommand: apply or list"
                                     : "unknown kvstore subcommand \"" + sub + "\" (apply or list)"};
    }
    if (!r) {
        std::cerr << "podlane: kvstore " << sub << ": " << r.error().message << "\n";
        return 1;
    }
    if (output == "json") {
        std::cout << r->dump(2) << "\n";
    } else if (sub == "apply") {
        for (const Json& k : (*r)["written"])
            std::cout << "written  " << k.get<std::string>() << "\n";
        for (const Json& k : (*r)["deleted"])
            std::cout << "deleted  " << k.get<std::string>() << "\n";
        std::cout << (*r)["written"].size() << " written, " << (*r)["unchanged"].get<size_t>() << " unchanged, "
                  << (*r)["deleted"].size() << " deleted in " << (*r)["etcd"].get<std::string>() << "\n";
    } else {
        for (const Json& e : *r)
            std::cout << e["kind"].get<std::string>() << "\t" << e["name"].get<std::string>() << "\t"
                      << e["value"].get<std::string>() << "\n";
    }
    return 0;
}

int run(int argc, char** argv) {
    CommandLine cl = parse_args(argc, argv);
    if (cl.help || (!cl.words.empty() && cl.words[0] == "help")) {
        std::cout << kHelp;
        return 0;
    }
    if (cl.words.empty())
        throw UsageError{"no command given"};

    std::string output = cl.opts.count("--output") ? cl.opts.at("--output") : "table";
    if (output != "table" && output != "json")
        throw UsageError{"-o must be table or json, not \"" + output + "\""};
    std::string socket = cl.opts.count("--socket") ? cl.opts.at("--socket") : "";
    if (socket.empty()) {
        const char* env = std::getenv("PODLANE_SOCKET");
        socket = env && *env ? env : podlane::kDefaultApiSocket;
    }

    const std::string& first = cl.words[0];
    std::string sub = cl.words.size() > 1 ? cl.words[1] : "";
    // Commands whose only subcommand is "list": word -> (API command, renderer).
    const std::map<std::string, std::pair<std::string, std::string (*)(const Json&)>> list_only = {
        {"ipcache", {"ipcache.list", podlane::format_ipcache}},
        {"identity", {"identity.list", podlane::format_identities}},
        {"neighbor", {"neighbor.list", podlane::format_neighbors}},
        {"neighbour", {"neighbor.list", podlane::format_neighbors}},
        {"ct", {"ct.list", podlane::format_ct}},
        {"nat", {"nat.list", podlane::format_nat}},
        {"cni", {"cni.list", podlane::format_cni_list}},
    };
    std::string cmd;
    Json args = Json::object();
    std::string (*render)(const Json&) = nullptr;
    const bool stages = cl.opts.count("--stages") > 0;
    if (stages && first != "stats")
        throw UsageError{"--stages is only valid with 'stats'"};
    const bool verbose = cl.opts.count("--verbose") > 0;
    if (verbose && first != "status")
        throw UsageError{"--verbose is only valid with 'status'"};
    if (first == "status" || first == "stats") {
        expect_words(cl, 1, first);
        cmd = first;
        render = first == "status" ? podlane::format_status
                 : stages          ? podlane::format_stage_stats
                                   : podlane::format_stats;
    } else if (first == "endpoint" && sub == "list") {
        expect_words(cl, 2, "endpoint list");
        cmd = "endpoint.list";
        render = podlane::format_endpoints;
    } else if (first == "endpoint" && sub == "add") {
        expect_words(cl, 2, "endpoint add --id ID --ip IP --netns NS [--mac MAC] [--ifname IF] [--label k=v]...");
        cmd = "endpoint.add";
        args = endpoint_add_args(cl);
        render = podlane::format_endpoints;
    } else if (first == "endpoint" && sub == "delete") {
        expect_words(cl, 3, "endpoint delete ID");
        cmd = "endpoint.delete";
        args["id"] = cl.words[2];
    } else if (first == "endpoint") {
        throw UsageError{sub.empty() ? "endpoint needs a subcommand: list, add or delete"
                                     : "unknown endpoint subcommand \"" + sub + "\" (list, add or delete)"};
    } else if (first == "service" && sub == "list") {
        expect_words(cl, 2, "service list");
        cmd = "service.list";
        render = cl.opts.count("--clustermesh-affinity") ? podlane::format_services_clustermesh : podlane::format_services;
    } else if (first == "service" && sub == "maglev") {
        expect_words(cl, 3, "service maglev SERVICE");
        cmd = "service.maglev";
        args["service"] = cl.words[2];
        render = podlane::format_maglev;
    } else if (first == "service" && sub == "update") {
        expect_words(cl, 2, "service update -f FILE");
        if (!cl.opts.count("--file"))
            throw UsageError{"service update needs -f FILE"};
        cmd = "service.update";
        args["yaml"] = read_input(cl.opts.at("--file"));
        render = podlane::format_applied;
    } else if (first == "service" && sub == "delete") {
        expect_words(cl, 3, "service delete NAME");
        cmd = "service.delete";
        args["name"] = cl.words[2];
        render = podlane::format_applied;
    } else if (first == "service") {
        throw UsageError{sub.empty() ? "service needs a subcommand: list, maglev, update or delete"
                                     : "unknown service subcommand \"" + sub + "\" (list, maglev, update or delete)"};
    } else if (first == "bgp" && (sub == "peers" || sub == "routes")) {
        expect_words(cl, 2, "bgp " + sub);
        cmd = "bgp." + sub;
        render = sub == "peers" ? podlane::format_bgp_peers : podlane::format_bgp_routes;
    } else if (first == "clustermesh" && sub == "status") {
        expect_words(cl, 2, "clustermesh status");
        cmd = "clustermesh.status";
        render = podlane::format_clustermesh_status;
    } else if (first == "clustermesh") {
        throw UsageError{sub.empty() ? "clustermesh needs a subcommand: status"
                                     : "unknown clustermesh subcommand \"" + sub + "\" (status)"};
    } else if (first == "health" && sub == "status") {
        expect_words(cl, 2, "health status");
        cmd = "health.status";
        render = podlane::format_health_status;
    } else if (first == "health") {
        throw UsageError{sub.empty() ? "health needs a subcommand: status" : "unknown health subcommand \"" + sub + "\" (status)"};
    } else if (first == "policy" && sub == "get") {
        expect_words(cl, 2, "policy get");
        cmd = "policy.get";
        render = podlane::format_policy;
    } else if (first == "policy") {
        throw UsageError{sub.empty() ? "policy needs a subcommand: get" : "unknown policy subcommand \"" + sub + "\" (get)"};
    } else if (first == "lb-ipam" && sub == "pools") {
        expect_words(cl, 2, "lb-ipam pools");
        cmd = "lbipam.pools";
        render = podlane::format_lb_ipam_pools;
    } else if (first == "lb-ipam") {
        throw UsageError{sub.empty() ? "lb-ipam needs a subcommand: pools" : "unknown lb-ipam subcommand \"" + sub + "\" (pools)"};
    } else if (first == "bgp") {
        throw UsageError{sub.empty() ? "bgp needs a subcommand: peers or routes"
                                     : "unknown bgp subcommand \"" + sub + "\" (peers or routes)"};
    } else if (first == "kvstore") {
        return run_kvstore(cl, sub, output);
    } else if (first == "observe") {
        expect_words(cl, 1, "observe [--last N] [-f] [filters]");
        std::map<std::string, std::string> filters;
        for (const char* o : kObserveOptions)
            if (cl.opts.count(o) && std::string(o) != "--last")
                filters[std::string(o).substr(2)] = cl.opts.at(o);
        unsigned last = 20;
        if (cl.opts.count("--last")) {
            const std::string& v = cl.opts.at("--last");
            if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 6)
                throw UsageError{"--last must be a number of events, like 50"};
            last = static_cast<unsigned>(std::stoul(v));
        }
        return podlane::run_observe(socket, filters, last, cl.opts.count("--follow") > 0, output == "json");
    } else if (first == "capture" && (sub == "status" || sub == "stop")) {
        expect_words(cl, 2, "capture " + sub);
        cmd = "capture." + sub;
        render = podlane::format_capture;
    } else if (first == "capture") {
        expect_words(cl, 1, "capture -w FILE [--filter EXPR] [-c N] [--duration S] [--snaplen B]");
        if (!cl.opts.count("--write"))
            throw UsageError{"capture needs -w FILE (the pcapng file to write)"};
        podlane::CaptureOptions o;
        o.path = cl.opts.at("--write");
        o.filter = cl.opts.count("--filter") ? cl.opts.at("--filter") : "";
        auto number = [&](const char* opt, uint64_t max) -> uint64_t {
            if (!cl.opts.count(opt))
                return 0;
            const std::string& v = cl.opts.at(opt);
            if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos ||
                std::stoull(v) > max)
                throw UsageError{std::string(opt) + " must be a whole number up to " + std::to_string(max)};
            return std::stoull(v);
        };
        o.count = number("--count", 1000000000000ull);
        o.snaplen = static_cast<uint32_t>(number("--snaplen", 65535));
        if (cl.opts.count("--duration")) {
            const std::string& v = cl.opts.at("--duration");
            char* end = nullptr;
            o.duration_s = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || !(o.duration_s > 0) || o.duration_s > 86400)
                throw UsageError{"--duration must be a number of seconds, like 5 or 0.5"};
        }
        o.json = output == "json";
        return podlane::run_capture(socket, o);
    } else if (first == "cni" && sub == "status") {
        expect_words(cl, 2, "cni status");
        cmd = "cni.status";
        render = podlane::format_cni_status;
    } else if (auto it = list_only.find(first); it != list_only.end()) {
        if (sub != "list")
            throw UsageError{sub.empty() ? first + " needs a subcommand: list"
                                         : "unknown " + first + " subcommand \"" + sub + "\" (list)"};
        expect_words(cl, 2, first + " list");
        cmd = it->second.first;
        render = it->second.second;
    } else {
        throw UsageError{"unknown command \"" + first + "\""};
    }
    for (const char* o : kObserveOptions) {
        const bool endpoint_option = std::find(kEndpointAddOptions.begin(), kEndpointAddOptions.end(), o) !=
                                     kEndpointAddOptions.end(); // --ip is both
        if (cl.opts.count(o) && !(endpoint_option && cmd == "endpoint.add"))
            throw UsageError{std::string(o) + " is only valid with 'observe'" +
                             (endpoint_option ? " or 'endpoint add'" : "")};
    }
    for (const char* o : kCaptureOptions)
        if (cl.opts.count(o))
            throw UsageError{std::string(o) + " is only valid with 'capture'"};
    if (cl.opts.count("--follow"))
        throw UsageError{"-f/--follow is only valid with 'observe' (service update and kvstore apply take -f FILE)"};
    for (const char* o : {"--etcd", "--prefix", "--prune", "--cacert", "--cert", "--key"})
        if (cl.opts.count(o))
            throw UsageError{std::string(o) + " is only valid with 'kvstore'"};
    if (cmd != "service.update" && cl.opts.count("--file"))
        throw UsageError{"-f is only valid with 'service update'"};
    if (cmd != "endpoint.add")
        for (const auto& o : kEndpointAddOptions)
            if (cl.opts.count(o) || (o == "--label" && !cl.labels.empty()) ||
                (o == "--host-port" && !cl.host_ports.empty()))
                throw UsageError{o + " is only valid with 'endpoint add'"};

    auto data = podlane::call_api(socket, cmd, args);
    if (!data) {
        std::cerr << "podlane: " << data.error().message << "\n";
        return 1;
    }
    if (verbose) // the details cilium-dbg status --verbose adds: every node's health
        if (auto health = podlane::call_api(socket, "health.status", Json::object()))
            (*data)["health"] = *health;
    if (output == "json")
        std::cout << (stages ? podlane::stage_stats(*data) : *data).dump(2, ' ', false, Json::error_handler_t::replace)
                  << "\n";
    else if (render)
        std::cout << render(*data);
    else
        std::cout << "endpoint \"" << cl.words[2] << "\" deleted\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "podlane: " << e.message << "\nRun 'podlane help' for usage.\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "podlane: " << e.what() << "\n";
        return 1;
    }
}
