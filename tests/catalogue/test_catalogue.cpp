// The catalogue of bad inputs: every case of cases.toml (its format is described at the top
// of that file) runs the herd program in a fresh directory holding the case's files, and must
// end with the case's exit code, a message holding each of its words, no control bytes and
// no "internal error" in that message, within a time limit, and the directory exactly as it
// was before (nothing written, nothing changed or removed) apart from what the case allows.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "herd/core/error.hpp"
#include "support/cli_files.hpp"

namespace herd::test {
namespace {

const char* const cases_file = HERD_SOURCE_DIR "/tests/catalogue/cases.toml";

// One file of a case: its contents from text, hex or another file, then optionally
// gzip-compressed, cut to its first `cut` bytes, or with the byte at `flip` inverted.
struct FileSpec {
  std::string path;
  std::optional<std::string> text, hex, from;
  bool gzip = false;
  std::optional<std::int64_t> cut, flip;
  bool after_setup = false;
};

struct Case {
  std::string name;
  std::vector<FileSpec> files;
  std::vector<std::string> setup;  // herd commands that must succeed first
  std::string args;
  int exit = 0;
  std::vector<std::string> message;
  std::vector<std::string> may_write;  // paths (relative) the command may create or change
  std::string requires_;               // "", "data" (../shared/data) or "torch"
  int within = 60;                     // seconds
};

// The strings of the array t[key]; none when it is absent.
std::vector<std::string> strings(const toml::table& t, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* a = t[key].as_array())
    for (const auto& v : *a) out.push_back(v.value<std::string>().value());
  return out;
}

// The files of the array of tables t[key].
std::vector<FileSpec> files(const toml::table& t, std::string_view key) {
  std::vector<FileSpec> out;
  if (const auto* a = t[key].as_array()) {
    for (const auto& f : *a) {
      const toml::table& ft = *f.as_table();
      FileSpec s;
      s.path = ft["path"].value<std::string>().value();
      s.text = ft["text"].value<std::string>();
      s.hex = ft["hex"].value<std::string>();
      s.from = ft["from"].value<std::string>();
      s.gzip = ft["gzip"].value_or(false);
      s.cut = ft["cut"].value<std::int64_t>();
      s.flip = ft["flip"].value<std::int64_t>();
      s.after_setup = ft["after_setup"].value_or(false);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<Case> load_cases() {
  const toml::table doc = toml::parse_file(cases_file);
  const std::vector<FileSpec> common = files(doc, "file");
  std::vector<Case> cases;
  for (const auto& node : *doc["case"].as_array()) {
    const toml::table& t = *node.as_table();
    Case c;
    c.files = common;
    c.name = t["name"].value<std::string>().value();
    c.args = t["args"].value<std::string>().value();
    c.exit = int(t["exit"].value<std::int64_t>().value());
    c.message = strings(t, "message");
    c.may_write = strings(t, "may_write");
    c.setup = strings(t, "setup");
    c.requires_ = t["requires"].value_or(std::string());
    c.within = int(t["within"].value_or(std::int64_t(c.within)));
    for (FileSpec& f : files(t, "file")) c.files.push_back(std::move(f));
    cases.push_back(std::move(c));
  }
  return cases;
}

// {data}: the shared data sets; {source}: the repository.
std::string expand(std::string s) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{data}", HERD_DATA_DIR},
                                   {"{source}", HERD_SOURCE_DIR}})
    for (std::size_t at = s.find(key); at != std::string::npos; at = s.find(key, at))
      s.replace(at, key.size(), value);
  return s;
}

std::string from_hex(const std::string& hex) {
  std::string out, digits;
  for (const char c : hex)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  EXPECT_EQ(digits.size() % 2, 0u) << "odd number of hex digits";
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out += char(std::stoi(digits.substr(i, 2), nullptr, 16));
  return out;
}

std::string gzipped(const std::string& bytes) {
  uLongf size = compressBound(uLong(bytes.size())) + 32;
  std::string out(size, '\0');
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = uInt(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void write_file(const fs::path& dir, const FileSpec& f) {
  std::string bytes;
  if (f.text) bytes = expand(*f.text);
  if (f.hex) bytes = from_hex(*f.hex);
  if (f.from) {
    const fs::path source = expand(*f.from);
    ASSERT_TRUE(fs::exists(dir / source)) << source;
    std::ifstream in(dir / source, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (f.gzip) bytes = gzipped(bytes);
  if (f.cut) bytes.resize(std::min(bytes.size(), std::size_t(*f.cut)));
  if (f.flip) bytes.at(std::size_t(*f.flip)) = char(~bytes.at(std::size_t(*f.flip)));
  const fs::path path = dir / f.path;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Every path under dir with its contents ("" for a directory).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    out[rel] = e.is_directory() ? "" : read(e.path());
  }
  return out;
}

// The herd program: this build's, or HERD_CATALOGUE_BINARY's (another build of it, e.g. one
// with sanitizers).
std::string herd_binary() {
  const char* other = std::getenv("HERD_CATALOGUE_BINARY");
  return other != nullptr && *other != '\0' ? other : HERD_BINARY;
}

// `herd ARGS` run in dir, for at most `seconds`: the exit code (124: out of time) and stderr.
std::pair<int, std::string> run_in(const fs::path& dir, const std::string& args, int seconds) {
  const fs::path err = dir.parent_path() / (dir.filename().string() + ".stderr");
  const std::string command = "cd '" + dir.string() + "' && env -u HERD_DATA timeout " +
                              std::to_string(seconds) + " " + herd_binary() + " " + expand(args) +
                              " </dev/null >/dev/null 2>'" + err.string() + "'";
  const int status = std::system(command.c_str());
  std::string text = read(err);
  fs::remove(err);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::move(text)};
}

std::string control_bytes_in(const std::string& s) {
  std::string found;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n' && c != '\t') || b == 0x7f) found += "\\x" + std::to_string(b);
  }
  return found;
}

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.name;
}

class Catalogue : public ::testing::TestWithParam<Case> {};

TEST_P(Catalogue, RefusedAsCatalogued) {
  const Case& c = GetParam();
  if (c.requires_ == "data" && !fs::exists(fs::path(HERD_DATA_DIR) / "mnist"))
    GTEST_SKIP() << "needs the shared data sets in " << HERD_DATA_DIR;
  if (c.requires_ == "torch" && !HERD_WITH_TORCH) GTEST_SKIP() << "built without LibTorch";
  const fs::path dir = fresh_dir("herd_test_catalogue_" + std::to_string(::getpid()), c.name);
  fs::create_directories(dir);
  for (const FileSpec& f : c.files) {
    if (!f.after_setup) {
      ASSERT_NO_FATAL_FAILURE(write_file(dir, f));
    }
  }
  for (const std::string& setup : c.setup) {
    const auto [code, err] = run_in(dir, setup, 600);
    ASSERT_EQ(code, exit_codes::ok) << "setup: herd " << setup << "\n" << err;
  }
  for (const FileSpec& f : c.files) {
    if (f.after_setup) {
      ASSERT_NO_FATAL_FAILURE(write_file(dir, f));
    }
  }

  auto before = snapshot(dir);
  const auto [code, err] = run_in(dir, c.args, c.within * test::slowdown);
  EXPECT_EQ(code, c.exit) << "herd " << c.args << "\n" << err;
  for (const std::string& words : c.message)
    EXPECT_NE(err.find(expand(words)), std::string::npos)
        << "the message lacks '" << words << "':\n"
        << err;
  EXPECT_EQ(control_bytes_in(err), "") << err;
  if (c.exit != exit_codes::internal) {
    EXPECT_EQ(err.find("internal error"), std::string::npos) << err;
  }

  auto after = snapshot(dir);
  for (const std::string& allowed : c.may_write) {
    for (auto* side : {&after, &before})
      for (auto it = side->begin(); it != side->end();)
        it = it->first.starts_with(allowed) ? side->erase(it) : std::next(it);
  }
  for (const auto& [path, contents] : after) {
    const auto was = before.find(path);
    if (was == before.end())
      ADD_FAILURE() << "herd " << c.args << " wrote " << path;
    else if (was->second != contents)
      ADD_FAILURE() << "herd " << c.args << " changed " << path;
  }
  for (const auto& [path, contents] : before)
    if (!after.contains(path)) ADD_FAILURE() << "herd " << c.args << " removed " << path;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Cases, Catalogue, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace herd::test
