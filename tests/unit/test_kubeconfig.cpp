// Tests for how the Kubernetes source finds and authenticates to the API
// server: kubeconfig parsing (contexts, tokens, CA and client certificates as
// data or files), in-cluster settings, the API client's TLS setup and
// stream helpers, and the source's retry and stop.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "control/sources/k8s/k8s_client.h"
#include "control/sources/k8s/kubeconfig.h"
#include "control/sources/k8s/source_k8s.h"

#ifndef PODLANE_SOURCE_DIR
#error "PODLANE_SOURCE_DIR must be defined as the source tree's path, as a string literal"
#endif

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kTls = PODLANE_SOURCE_DIR "/tests/data/k8s/tls/";

std::string read(const std::string& path) {
    auto text = read_text_file(path, "test file");
    REQUIRE(text);
    return *text;
}

std::string base64(const std::string& in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6)
            out += abc[(v >> s) & 63];
    }
    if (i + 1 == in.size()) {
        const uint32_t v = uint32_t(uint8_t(in[i])) << 16;
        out += std::string{abc[v >> 18], abc[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
        out += std::string{abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], '='};
    }
    return out;
}

/// A kubeconfig as kubeadm and kind write them: two clusters, two users, two
/// contexts; `current` picks one, `admin_user` is the admin user's body.
std::string kubeconfig(const std::string& current, const std::string& admin_user) {
    return "apiVersion: v1\n"
           "kind: Config\n"
           "preferences: {}\n"
           "clusters:\n"
           "- cluster:\n"
           "    certificate-authority-data: " + base64(read(kTls + "client.crt")) + "\n"
           "    server: https://192.168.50.11:6443\n"
           "  name: lab\n"
           "- cluster:\n"
           "    insecure-skip-tls-verify: true\n"
           "    server: https://[fd00::1]:16443/k8s/clusters/c-x7f2q/\n"
           "    tls-server-name: api.staging.example\n"
           "  name: staging\n"
           "contexts:\n"
           "- context:\n"
           "    cluster: lab\n"
           "    user: kubernetes-admin\n"
           "  name: kubernetes-admin@lab\n"
           "- context:\n"
           "    cluster: staging\n"
           "    namespace: kube-system\n"
           "    user: podlane\n"
           "  name: podlane@staging\n"
           "current-context: " + current + "\n"
           "users:\n"
           "- name: kubernetes-admin\n"
           "  user:\n" + admin_user +
           "- name: podlane\n"
           "  user:\n"
           "    token: eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.podlane\n";
}

/// A temporary directory, removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/podlane-kubeconfig-XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

} // namespace

TEST_CASE("kubeconfig: the current context's cluster and user, with data fields", "[k8s]") {
    const std::string cert = read(kTls + "client.crt");
    const std::string key = read(kTls + "client.key");
    auto a = parse_kubeconfig(kubeconfig("kubernetes-admin@lab", "    client-certificate-data: " + base64(cert) +
                                                                     "\n    client-key-data: " + base64(key) + "\n"),
                              "/etc/kubernetes/admin.conf", "/etc/kubernetes");
    REQUIRE(a);
    CHECK(a->server == "https://192.168.50.11:6443");
    CHECK(a->ca_pem == cert);
    CHECK_FALSE(a->insecure_skip_tls_verify);
    CHECK(a->client_cert_pem == cert);
    CHECK(a->client_key_pem == key);
    CHECK(a->token.empty());
    CHECK(a->origin == "kubeconfig /etc/kubernetes/admin.conf (context kubernetes-admin@lab)");
}

TEST_CASE("kubeconfig: another context, a token, insecure-skip-tls-verify and tls-server-name", "[k8s]") {
    auto a = parse_kubeconfig(kubeconfig("podlane@staging", "    token: admin-token\n"), "kc", "");
    REQUIRE(a);
    CHECK(a->server == "https://[fd00::1]:16443/k8s/clusters/c-x7f2q/");
    CHECK(a->insecure_skip_tls_verify);
    CHECK(a->tls_server_name == "api.staging.example");
    CHECK(a->ca_pem.empty());
    CHECK(a->token == "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.podlane");
}

TEST_CASE("kubeconfig: certificate and key files relative to the kubeconfig, a token file", "[k8s]") {
    TempDir dir;
    std::filesystem::create_directory(dir.path / "pki");
    dir.write("pki/client.crt", read(kTls + "client.crt"));
    dir.write("pki/client.key", read(kTls + "client.key"));
    dir.write("pki/ca.crt", read(kTls + "client.crt"));
    dir.write("token", "file-token\n");
    std::string text = kubeconfig("kubernetes-admin@lab", "    client-certificate: pki/client.crt\n"
                                                          "    client-key: pki/client.key\n"
                                                          "    tokenFile: token\n");
    text.replace(text.find("certificate-authority-data: "), text.find('\n', text.find("certificate-authority-data: ")) -
                                                                 text.find("certificate-authority-data: "),
                 "certificate-authority: pki/ca.crt");
    const std::string path = dir.write("config", text);
    auto a = load_kubeconfig(path);
    REQUIRE(a);
    CHECK(a->ca_pem == read(kTls + "client.crt"));
    CHECK(a->client_key_pem == read(kTls + "client.key"));
    CHECK(a->token_file == (dir.path / "token").string());

    boost::asio::io_context io;
    auto client = K8sClient::create(io, *a, std::chrono::milliseconds(1000));
    REQUIRE(client);
    auto token = (*client)->bearer_token();
    REQUIRE(token);
    CHECK(*token == "file-token");
    dir.write("token", "rotated-token\n"); // service-account tokens are rotated: read at every request
    CHECK(*(*client)->bearer_token() == "rotated-token");
}

TEST_CASE("kubeconfig errors name the file, the key and the entry", "[k8s]") {
    using Case = std::pair<std::string, std::string>; // kubeconfig text, expected message part
    const std::string ok_user = "    token: t\n";
    const std::vector<Case> cases = {
        {kubeconfig("nope", ok_user), "current-context names context \"nope\", which is not in contexts"},
        {kubeconfig("", ok_user), "current-context is not set"},
        {kubeconfig("kubernetes-admin@lab", "    client-key-data: not*base64\n"),
         "users[0].user.client-key-data (user \"kubernetes-admin\"): not valid base64"},
        {kubeconfig("kubernetes-admin@lab", "    client-certificate-data: " + base64("x") + "\n"),
         "client-certificate without client-key"},
        {kubeconfig("kubernetes-admin@lab", "    exec:\n      command: aws\n"),
         "users[0].user.exec (user \"kubernetes-admin\"): credential plugins are not supported"},
        {kubeconfig("kubernetes-admin@lab", "    client-certificate: /nonexistent/podlane.crt\n    client-key: k\n"),
         "users[0].user.client-certificate (user \"kubernetes-admin\"): cannot open /nonexistent/podlane.crt"},
        {"clusters: [{name: x, cluster: {server: http://10.0.0.1:8080}}]\n"
         "contexts: [{name: c, context: {cluster: x}}]\ncurrent-context: c\n",
         "clusters[0].cluster.server (cluster \"x\"): \"http://10.0.0.1:8080\" is not valid: expected an https:// URL"},
        {"current-context: [\n", "line"},
    };
    for (const auto& [text, want] : cases) {
        auto a = parse_kubeconfig(text, "/root/.kube/config", "/root/.kube");
        INFO(want);
        REQUIRE_FALSE(a);
        CHECK_THAT(a.error().message, Contains("kubeconfig /root/.kube/config") && Contains(want));
    }
    auto missing = load_kubeconfig("/nonexistent/kubeconfig");
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Contains("source.kubernetes.kubeconfig") && Contains("/nonexistent/kubeconfig"));
}

TEST_CASE("in-cluster: the service environment, the service-account token and CA", "[k8s]") {
    TempDir dir;
    KubernetesSourceConfig cfg;
    cfg.token_file = dir.write("token", "sa-token");
    cfg.ca_file = dir.write("ca.crt", read(kTls + "client.crt"));
    std::map<std::string, std::string> env{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
    auto getenv = [&](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    auto a = in_cluster_access(cfg, getenv);
    REQUIRE(a);
    CHECK(a->server == "https://10.96.0.1:443");
    CHECK(a->token_file == cfg.token_file);
    CHECK(a->ca_pem == read(kTls + "client.crt"));

    env["KUBERNETES_SERVICE_HOST"] = "fd00:10:96::1";
    CHECK(in_cluster_access(cfg, getenv)->server == "https://[fd00:10:96::1]:443");

    env.clear();
    auto outside = in_cluster_access(cfg, getenv);
    REQUIRE_FALSE(outside);
    CHECK_THAT(outside.error().message, Contains("KUBERNETES_SERVICE_HOST") && Contains("source.kubernetes.kubeconfig"));
    cfg.server = "https://127.0.0.1:6443"; // the server key stands in for the environment
    CHECK(in_cluster_access(cfg, getenv));
    cfg.token_file = (dir.path / "missing-token").string();
    auto no_token = in_cluster_access(cfg, getenv);
    REQUIRE_FALSE(no_token);
    CHECK_THAT(no_token.error().message, Contains("source.kubernetes.token_file") && Contains("missing-token"));
}

TEST_CASE("source.kubernetes.server overrides the kubeconfig's server", "[k8s]") {
    TempDir dir;
    KubernetesSourceConfig cfg;
    cfg.kubeconfig = dir.write("config", kubeconfig("podlane@staging", "    token: t\n"));
    cfg.server = "https://127.0.0.1:7443";
    auto a = resolve_kube_access(cfg);
    REQUIRE(a);
    CHECK(a->server == "https://127.0.0.1:7443");
    CHECK(a->token == "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.podlane");
}

TEST_CASE("the API client refuses unusable certificates and keys by name", "[k8s]") {
    boost::asio::io_context io;
    KubeAccess a;
    a.server = "https://127.0.0.1:6443";
    a.origin = "kubeconfig kc (context lab)";
    a.ca_pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    auto r = K8sClient::create(io, a, std::chrono::milliseconds(1000));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("kubeconfig kc (context lab)") && Contains("CA certificate"));

    a.ca_pem = read(kTls + "client.crt");
    a.client_cert_pem = read(kTls + "client.crt");
    a.client_key_pem = read(kTls + "other.key");
    r = K8sClient::create(io, a, std::chrono::milliseconds(1000));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("client key does not belong to the client certificate"));

    a.client_key_pem = read(kTls + "client.key");
    CHECK(K8sClient::create(io, a, std::chrono::milliseconds(1000)));

    a.server = "https://10.0.0.1:99999";
    r = K8sClient::create(io, a, std::chrono::milliseconds(1000));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("port \"99999\""));
}

TEST_CASE("API server URLs: host, port, IPv6 and a path prefix", "[k8s]") {
    auto u = ApiServerUrl::parse("https://[fd00::1]:16443/k8s/clusters/c-x7f2q/");
    REQUIRE(u);
    CHECK(u->host == "fd00::1");
    CHECK(u->port == "16443");
    CHECK(u->base_path == "/k8s/clusters/c-x7f2q");
    u = ApiServerUrl::parse("https://kubernetes.default.svc");
    REQUIRE(u);
    CHECK(u->host == "kubernetes.default.svc");
    CHECK(u->port == "443");
    CHECK(u->base_path.empty());
    CHECK_FALSE(ApiServerUrl::parse("http://127.0.0.1:8080"));
    CHECK_FALSE(ApiServerUrl::parse("https://:6443"));
}

TEST_CASE("watch bodies are split into lines across chunk boundaries", "[k8s]") {
    std::string pending;
    std::vector<std::string> lines;
    split_lines(pending, "{\"type\":\"ADDED\"}\n{\"type\":\"MOD", lines);
    CHECK(lines == std::vector<std::string>{"{\"type\":\"ADDED\"}"});
    CHECK(pending == "{\"type\":\"MOD");
    split_lines(pending, "IFIED\"}\r\n\n{\"type\":", lines);
    CHECK(lines == std::vector<std::string>{"{\"type\":\"ADDED\"}", "{\"type\":\"MODIFIED\"}"});
    CHECK(pending == "{\"type\":");
}

TEST_CASE("base64 as kubeconfigs carry it", "[k8s]") {
    CHECK(base64_decode("cG9kbGFuZQ==") == std::optional<std::string>("podlane"));
    CHECK(base64_decode("cG9k\nbGFu\nZQ") == std::optional<std::string>("podlane")); // wrapped, unpadded
    CHECK_FALSE(base64_decode("cG9k*GFuZQ=="));
    CHECK_FALSE(base64_decode("cG9kbGFuZQ==cG9k"));
    CHECK_FALSE(base64_decode("c"));
}

TEST_CASE("KubernetesSource retries an unreachable API server and stop() ends every loop", "[k8s]") {
    boost::asio::io_context io;
    // A loopback port whose connections (accepted by the kernel's backlog)
    // never get an answer: every TLS handshake times out.
    boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});

    Config config;
    config.source.kubernetes.timeout_ms = 200;
    KubeAccess access;
    access.server = "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    access.origin = "test";
    access.token = "t";
    KubernetesSource source(config, access);
    int deltas = 0;
    REQUIRE(source.start(io, [&](ClusterDelta) { ++deltas; }));
    io.run_for(std::chrono::milliseconds(1500));
    SourceStatus s = source.status();
    CHECK(s.kind == "kubernetes");
    CHECK(s.endpoint == access.server);
    CHECK(s.state == SourceState::Connecting);
    CHECK_THAT(s.last_error, Contains("TLS handshake with 127.0.0.1") && Contains("no answer within 200 ms"));
    CHECK(s.revision == "nodes=- services=- endpointslices=-");

    source.stop();
    source.stop(); // idempotent
    silent.close();
    io.restart();
    const auto before = std::chrono::steady_clock::now();
    io.run(); // returns only once the three loops have ended
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
    CHECK(deltas == 0);
}
