#include "control/observe/capture_filter.h"

#include <netinet/in.h>

#include <sstream>
#include <vector>

namespace podlane {

namespace {

Error bad(const std::string& what) {
    return Error{"capture filter: " + what +
                 " (terms: [not] [src|dst] host IP, [not] [src|dst] port N, tcp, udp, icmp, pod NAME; joined by and)"};
}

} // namespace

Result<CaptureFilter> parse_capture_filter(const std::string& text, const PodLookup& pod_ip) {
    std::vector<std::string> words;
    std::istringstream in(text);
    for (std::string w; in >> w;)
        words.push_back(w);
    CaptureFilter f;
    size_t i = 0;
    auto next = [&](const char* what) -> Result<std::string> {
        if (i >= words.size())
            return bad(std::string("expected ") + what + " at the end");
        return words[i++];
    };
    while (i < words.size()) {
        if (f.count > 0) {
            if (words[i] != "and" && words[i] != "&&")
                return bad("expected \"and\" before \"" + words[i] + "\"");
            ++i;
        }
        if (f.count == CaptureFilter::kMaxTerms)
            return bad("at most " + std::to_string(CaptureFilter::kMaxTerms) + " terms");
        CaptureTerm t;
        if (i < words.size() && (words[i] == "not" || words[i] == "!")) {
            t.negate = true;
            ++i;
        }
        if (i < words.size() && (words[i] == "src" || words[i] == "dst")) {
            t.side = words[i] == "src" ? CaptureTerm::Side::Src : CaptureTerm::Side::Dst;
            ++i;
        }
        auto word = next("a term");
        if (!word)
            return word.error();
        if (*word == "host" || Ipv4Addr::parse(*word)) {
            std::string addr = *word;
            if (*word == "host") {
                auto a = next("an IPv4 address after host");
                if (!a)
                    return a.error();
                addr = *a;
            }
            auto ip = Ipv4Addr::parse(addr);
            if (!ip)
                return bad("\"" + addr + "\" is not an IPv4 address");
            t.kind = CaptureTerm::Kind::Host;
            t.ip = ip->be;
        } else if (*word == "port") {
            auto p = next("a port number after port");
            if (!p)
                return p.error();
            if (p->empty() || p->size() > 5 || p->find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(*p) == 0 || std::stoul(*p) > 65535)
                return bad("\"" + *p + "\" is not a port (1..65535)");
            t.kind = CaptureTerm::Kind::Port;
            t.port = rte_cpu_to_be_16(static_cast<uint16_t>(std::stoul(*p)));
        } else if (*word == "tcp" || *word == "udp" || *word == "icmp") {
            if (t.side != CaptureTerm::Side::Either)
                return bad("src/dst does not apply to " + *word);
            t.kind = CaptureTerm::Kind::Proto;
            t.proto = *word == "tcp" ? IPPROTO_TCP : *word == "udp" ? IPPROTO_UDP : IPPROTO_ICMP;
        } else if (*word == "pod") {
            auto name = next("a pod (endpoint id) after pod");
            if (!name)
                return name.error();
            auto ip = pod_ip(*name);
            if (!ip)
                return bad("no pod \"" + *name + "\" on this node (podlane endpoint list)");
            t.kind = CaptureTerm::Kind::Host;
            t.ip = ip->be;
        } else {
            return bad("unknown term \"" + *word + "\"");
        }
        f.terms[f.count++] = t;
    }
    return f;
}

} // namespace podlane
