#include "control/config/json_document.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace podlane {

namespace {

/// nlohmann's SAX events to a YAML::Node tree: a stack of the open
/// containers, each value added to the innermost under the last key.
class YamlBuilder {
public:
    YAML::Node root;

    bool null() { return add(YAML::Node(YAML::NodeType::Null)); }
    bool boolean(bool b) { return add(YAML::Node(b ? "true" : "false")); }
    bool number_integer(int64_t v) { return add(YAML::Node(std::to_string(v))); }
    bool number_unsigned(uint64_t v) { return add(YAML::Node(std::to_string(v))); }
    bool number_float(double, const std::string& text) { return add(YAML::Node(text)); } // as written
    bool string(std::string& s) { return add(YAML::Node(s)); }
    bool binary(nlohmann::json::binary_t&) { return false; } // not in JSON text
    bool start_object(size_t) { return open(YAML::NodeType::Map); }
    bool key(std::string& k) {
        key_.back() = k;
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(size_t) { return open(YAML::NodeType::Sequence); }
    bool end_array() { return close(); }
    bool parse_error(size_t, const std::string&, const nlohmann::json::exception&) { return false; }

private:
    bool add(const YAML::Node& n) {
        if (open_.empty())
            root = n;
        else if (open_.back().IsMap())
            open_.back().force_insert(key_.back(), n); // a repeated key is kept: Mapping names it
        else
            open_.back().push_back(n);
        return true;
    }
    bool open(YAML::NodeType::value type) {
        YAML::Node n(type);
        add(n);
        open_.push_back(n);
        key_.emplace_back();
        return true;
    }
    bool close() {
        open_.pop_back();
        key_.pop_back();
        return true;
    }
    std::vector<YAML::Node> open_;
    std::vector<std::string> key_;
};

} // namespace

std::optional<YAML::Node> load_json_document(std::string_view text) {
    YamlBuilder b;
    if (!nlohmann::json::sax_parse(text, &b))
        return std::nullopt;
    return b.root;
}

} // namespace podlane
