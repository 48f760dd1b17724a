// A strict JSON reader for the trace tests: RFC 8259 values, numbers kept as their text, so that
// 64-bit integers stay exact. Throws std::runtime_error, naming the offset, on anything else.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace rb::test {

struct Json {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool boolean = false;
  std::string text;  ///< a number's digits or a string's (unescaped) value
  std::vector<Json> array;
  std::map<std::string, Json> object;

  bool is_null() const { return kind == Kind::null; }
  std::uint64_t u64() const {
    if (kind != Kind::number) throw std::runtime_error("not a number");
    return std::stoull(text);
  }
  const Json& at(const std::string& name) const {
    const auto it = object.find(name);
    if (kind != Kind::object || it == object.end()) throw std::runtime_error("no member " + name);
    return it->second;
  }
  bool has(const std::string& name) const { return object.count(name) != 0; }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : s_(text) {}

  /// The one value of the text (whitespace around it allowed).
  Json document() {
    Json v = value();
    space();
    if (i_ != s_.size()) fail("text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw std::runtime_error("JSON: " + why + " at offset " + std::to_string(i_));
  }
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(const char* w) {
    const std::string ws(w);
    if (s_.compare(i_, ws.size(), ws) != 0) return false;
    i_ += ws.size();
    return true;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      const std::string simple = "\"\\/bfnrt";
      const std::string meaning = "\"\\/\b\f\n\r\t";
      if (const auto k = simple.find(e); k != std::string::npos) {
        out += meaning[k];
      } else if (e == 'u' && i_ + 4 <= s_.size()) {
        const unsigned code = std::stoul(s_.substr(i_, 4), nullptr, 16);
        i_ += 4;
        if (code >= 0x80) fail("only ASCII \\u escapes are expected in a trace");
        out += static_cast<char>(code);
      } else {
        fail("bad escape");
      }
    }
  }
  Json value() {
    space();
    if (i_ >= s_.size()) fail("missing value");
    Json v;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Json::Kind::object;
      ++i_;
      if (eat('}')) return v;
      do {
        std::string name = string();
        expect(':');
        if (!v.object.emplace(name, value()).second) fail("duplicate member " + name);
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      v.kind = Json::Kind::array;
      ++i_;
      if (eat(']')) return v;
      do v.array.push_back(value());
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::string;
      v.text = string();
    } else if (word("null")) {
    } else if (word("true")) {
      v.kind = Json::Kind::boolean;
      v.boolean = true;
    } else if (word("false")) {
      v.kind = Json::Kind::boolean;
    } else {
      const std::size_t start = i_;
      if (s_[i_] == '-') ++i_;
      while (i_ < s_.size() && std::string("0123456789.eE+-").find(s_[i_]) != std::string::npos) ++i_;
      if (i_ == start) fail("unexpected character");
      v.kind = Json::Kind::number;
      v.text = s_.substr(start, i_ - start);
      std::size_t used = 0;
      std::stod(v.text, &used);
      if (used != v.text.size()) fail("malformed number " + v.text);
    }
    return v;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

/// Every line of the file at `path`, each parsed; throws unless every line is one JSON value and
/// the file ends with a newline.
inline std::vector<Json> read_json_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!all.empty() && all.back() != '\n') throw std::runtime_error(path + ": last line cut");
  std::vector<Json> out;
  std::size_t start = 0;
  while (start < all.size()) {
    const std::size_t end = all.find('\n', start);
    out.push_back(JsonReader(all.substr(start, end - start)).document());
    start = end + 1;
  }
  return out;
}

}  // namespace rb::test
