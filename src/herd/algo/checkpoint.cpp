#include "herd/algo/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <type_traits>

#include "herd/algo/worker.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

constexpr char magic[8] = {'H', 'E', 'R', 'D', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t format_version = 1;

using Bytes = std::vector<unsigned char>;

std::string name_of(const std::filesystem::path& file) {
  return "checkpoint " + file.string();
}

// Little-endian encoding of the file's fields.
class ByteWriter {
 public:
  template <class T>
  requires std::is_integral_v<T>
  void put(T v) {
    using U = std::make_unsigned_t<T>;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      bytes.push_back(static_cast<unsigned char>(U(v) >> (8 * i)));
  }
  void put_f32(float v) { put(std::bit_cast<std::uint32_t>(v)); }
  void put_f64(double v) { put(std::bit_cast<std::uint64_t>(v)); }
  void put_bool(bool v) { put(std::uint8_t(v ? 1 : 0)); }
  void put_string(const std::string& s) {
    put(std::uint64_t(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  template <class T>
  void put_vector(const std::vector<T>& v) {
    put(std::uint64_t(v.size()));
    for (const T& x : v) {
      if constexpr (std::is_same_v<T, float>)
        put_f32(x);
      else if constexpr (std::is_same_v<T, double>)
        put_f64(x);
      else
        put(x);
    }
  }
  Bytes bytes;
};

// Reads what ByteWriter wrote; running out of bytes is a corrupt file.
class ByteReader {
 public:
  ByteReader(std::span<const unsigned char> bytes, std::string file)
      : bytes_(bytes), file_(std::move(file)) {}

  template <class T>
  requires std::is_integral_v<T> T get() {
    using U = std::make_unsigned_t<T>;
    need(sizeof(T), "an integer");
    U v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = U(v | U(U(bytes_[pos_ + i]) << (8 * i)));
    pos_ += sizeof(T);
    return T(v);
  }
  float get_f32() { return std::bit_cast<float>(get<std::uint32_t>()); }
  double get_f64() { return std::bit_cast<double>(get<std::uint64_t>()); }
  bool get_bool() { return get<std::uint8_t>() != 0; }
  std::string get_string() {
    const std::size_t n = length(1, "a string");
    std::string s(bytes_.begin() + std::ptrdiff_t(pos_), bytes_.begin() + std::ptrdiff_t(pos_ + n));
    pos_ += n;
    return s;
  }
  template <class T>
  std::vector<T> get_vector() {
    std::vector<T> v(length(sizeof(T), "a vector"));
    for (T& x : v) {
      if constexpr (std::is_same_v<T, float>)
        x = get_f32();
      else if constexpr (std::is_same_v<T, double>)
        x = get_f64();
      else
        x = get<T>();
    }
    return v;
  }
  std::span<const unsigned char> get_bytes(std::size_t n) {
    need(n, "a rank's record");
    const auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  bool at_end() const { return pos_ == bytes_.size(); }
  [[noreturn]] void corrupt(const std::string& what) const {
    throw IoError(file_ + ": corrupt or from an incompatible build (" + what + " at byte " +
                  std::to_string(pos_) + ")");
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (bytes_.size() - pos_ < n) corrupt(std::string("truncated: ") + what);
  }
  // A length prefix, checked against what is left so that a bad one cannot allocate wildly.
  std::size_t length(std::size_t element_bytes, const char* what) {
    const std::uint64_t n = get<std::uint64_t>();
    if (n > (bytes_.size() - pos_) / element_bytes) corrupt(std::string("bad length of ") + what);
    return std::size_t(n);
  }

  std::span<const unsigned char> bytes_;
  std::size_t pos_ = 0;
  std::string file_;
};

void put_rng(ByteWriter& w, const Rng::State& s) {
  w.put(s.seed), w.put(s.stream), w.put(s.counter), w.put(s.used);
}
Rng::State get_rng(ByteReader& r) {
  Rng::State s;
  s.seed = r.get<std::uint64_t>();
  s.stream = r.get<std::uint64_t>();
  s.counter = r.get<std::uint64_t>();
  s.used = r.get<std::uint32_t>();
  if (s.used > 4) r.corrupt("an RNG state");
  return s;
}

void put_row(ByteWriter& w, const MetricsRow& row) {
  w.put(std::uint64_t(row.fields.size()));
  for (const auto& [key, value] : row.fields) {
    w.put_string(key);
    w.put(std::uint8_t(value.index()));
    if (const auto* i = std::get_if<std::int64_t>(&value)) w.put(*i);
    if (const auto* d = std::get_if<double>(&value)) w.put_f64(*d);
    if (const auto* s = std::get_if<std::string>(&value)) w.put_string(*s);
  }
}
MetricsRow get_row(ByteReader& r) {
  MetricsRow row;
  const std::uint64_t n = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string key = r.get_string();
    switch (r.get<std::uint8_t>()) {
      case 0:
        row.set(std::move(key), std::monostate{});
        break;
      case 1:
        row.set(std::move(key), r.get<std::int64_t>());
        break;
      case 2:
        row.set(std::move(key), r.get_f64());
        break;
      case 3:
        row.set(std::move(key), r.get_string());
        break;
      default:
        r.corrupt("a metric value");
    }
  }
  return row;
}

// --- The header: the job's identity and where it stood (rank 0's view). ---

void put_header(ByteWriter& w, const CheckpointInfo& info) {
  w.put_string(info.job.algorithm);
  w.put_string(info.job.problem);
  w.put(std::int32_t(info.job.workers));
  w.put(std::int32_t(info.job.ranks));
  w.put(info.job.dim);
  w.put(info.job.seed);
  w.put(info.step);
  w.put(info.rounds);
  w.put(info.rows_recorded);
  w.put_f64(info.time);
  w.put_bool(info.stopped);
  w.put_string(info.stop_reason);
  w.put_bool(info.server_only);
}
CheckpointInfo get_header(ByteReader& r) {
  CheckpointInfo info;
  info.job.algorithm = r.get_string();
  info.job.problem = r.get_string();
  info.job.workers = r.get<std::int32_t>();
  info.job.ranks = r.get<std::int32_t>();
  info.job.dim = r.get<std::uint64_t>();
  info.job.seed = r.get<std::uint64_t>();
  info.step = r.get<std::int64_t>();
  info.rounds = r.get<std::int64_t>();
  info.rows_recorded = r.get<std::int64_t>();
  info.time = r.get_f64();
  info.stopped = r.get_bool();
  info.stop_reason = r.get_string();
  info.server_only = r.get_bool();
  return info;
}

// Checks the magic, version and checksum; returns the bytes between the version and the
// checksum.
std::span<const unsigned char> verified_body(const Bytes& file, const std::string& name) {
  constexpr std::size_t prefix = sizeof magic + 4, crc_bytes = 4;
  const std::span<const unsigned char> all(file);
  if (file.size() < prefix + crc_bytes)
    throw IoError(name + ": truncated (" + std::to_string(file.size()) + " bytes)");
  if (std::memcmp(file.data(), magic, sizeof magic) != 0)
    throw IoError(name + ": not a herd checkpoint (bad magic)");
  const std::size_t body_end = file.size() - crc_bytes;
  const std::uint32_t crc =
      std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(file.data()), uInt(body_end)));
  if (ByteReader{all.subspan(body_end), name}.get<std::uint32_t>() != crc)
    throw IoError(name + ": checksum mismatch (truncated or corrupt)");
  const auto version = ByteReader{all.subspan(sizeof magic), name}.get<std::uint32_t>();
  if (version != format_version)
    throw IoError(name + ": format version " + std::to_string(version) + ", this build reads " +
                  std::to_string(format_version));
  return all.subspan(prefix, body_end - prefix);
}

Bytes read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(name_of(file) + ": cannot open: " + std::strerror(errno));
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(name_of(file) + ": read error");
  return bytes;
}

// Writes a file atomically: to a temporary name in the same directory, synced, then
// renamed over the target, so a crash leaves the old checkpoint or the new one, never half
// of one. Keeps the running crc32 of what it wrote.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path file)
      : file_(std::move(file)), temp_(file_.string() + ".tmp") {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create " + temp_.string());
  }
  ~AtomicFile() {  // not committed: the temporary goes, the old checkpoint stays
    if (fd_ >= 0) ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const unsigned char> bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
      // zlib takes uInt lengths: at most 1 GiB at a time.
      const std::size_t n = std::min<std::size_t>(bytes.size() - done, std::size_t(1) << 30);
      const ssize_t wrote = ::write(fd_, bytes.data() + done, n);
      if (wrote < 0) {
        if (errno == EINTR) continue;
        fail("cannot write " + temp_.string());
      }
      crc_ = std::uint32_t(
          crc32(crc_, reinterpret_cast<const Bytef*>(bytes.data() + done), uInt(wrote)));
      done += std::size_t(wrote);
    }
  }
  void write(const Bytes& bytes) { write(std::span<const unsigned char>(bytes)); }

  // Appends the checksum and puts the file in place.
  void commit() {
    ByteWriter crc;
    crc.put(crc_);
    write(crc.bytes);
    if (::fsync(fd_) != 0) fail("cannot sync " + temp_.string());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close " + temp_.string());
    std::error_code ec;
    std::filesystem::rename(temp_, file_, ec);
    if (ec) {
      throw IoError(name_of(file_) + ": cannot rename " + temp_.string() +
                    " into place: " + ec.message());
    }
    // The rename itself is durable once the directory is synced (best effort: not every
    // file system can sync a directory).
    const std::filesystem::path dir =
        file_.has_parent_path() ? file_.parent_path() : std::filesystem::path(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      (void)::fsync(dir_fd);
      ::close(dir_fd);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(name_of(file_) + ": " + what + ": " + std::strerror(errno));
  }
  std::filesystem::path file_, temp_;
  int fd_ = -1;
  std::uint32_t crc_ = 0;
};

// --- One rank's record. ---

void put_entry(ByteWriter& w, const AlgoState::Ref& ref) {
  w.put(std::uint8_t(ref.index()));
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, double>)
          w.put_f64(*p);
        else if constexpr (std::is_integral_v<T>)
          w.put(*p);
        else
          w.put_vector(*p);
      },
      ref);
}
void get_entry(ByteReader& r, const AlgoState::Ref& ref) {
  if (r.get<std::uint8_t>() != ref.index()) r.corrupt("an algorithm buffer of another type");
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, double>)
          *p = r.get_f64();
        else if constexpr (std::is_integral_v<T>)
          *p = r.get<T>();
        else
          *p = r.get_vector<typename T::value_type>();
      },
      ref);
}

Bytes rank_record(Worker& w, std::int64_t steps_done) {
  ByteWriter out;
  comm::Communicator& c = w.comm;
  out.put(std::int32_t(c.rank()));
  out.put(steps_done);
  out.put_vector(w.x);
  out.put_vector(w.optimizer.velocity());
  out.put_bool(w.objective != nullptr);
  if (w.objective != nullptr) {
    const model::OracleState o = w.objective->save_state();
    put_rng(out, o.rng);
    out.put_vector(o.order);
    out.put(o.position);
    out.put(o.drawn);
  }
  out.put(w.rounds);
  out.put(w.gradients);
  out.put_f64(w.last_loss);

  const comm::Traffic& t = c.traffic();
  out.put(t.bytes_sent), out.put(t.collectives), out.put(t.messages);
  const comm::RuntimeState rt = c.save_runtime_state();
  out.put_f64(rt.clock);
  out.put_bool(rt.noise.has_value());
  if (rt.noise) put_rng(out, *rt.noise);
  out.put(rt.faults_fired);

  const Monitor::State m = w.monitor.save_state(c);
  out.put(m.rows_recorded);
  out.put_f64(m.excluded_seconds);
  out.put_f64(m.clock);
  out.put_bool(m.stopped);
  out.put_string(m.stop_reason);
  put_row(out, m.last_row);

  out.put(std::uint64_t(w.algo_state.entries().size()));
  for (const auto& [name, ref] : w.algo_state.entries()) {
    out.put_string(name);
    put_entry(out, ref);
  }
  return std::move(out.bytes);
}

// Restores rank `w`'s state from its record; returns the step to continue at.
std::int64_t restore_rank(Worker& w, std::span<const unsigned char> record,
                          const std::filesystem::path& file) {
  const std::string name = name_of(file);
  ByteReader in(record, name);
  comm::Communicator& c = w.comm;
  const std::string rank = "rank " + std::to_string(c.rank());
  if (in.get<std::int32_t>() != c.rank()) in.corrupt("the record of another rank");
  const std::int64_t step = in.get<std::int64_t>();

  std::vector<float> x = in.get_vector<float>();
  if (x.size() != w.x.size())
    throw InvalidInput(name + ": " + rank + " saved " + std::to_string(x.size()) +
                       " parameters, the problem has " + std::to_string(w.x.size()));
  w.x = std::move(x);
  try {
    w.optimizer.restore_velocity(in.get_vector<float>());
    const bool has_oracle = in.get_bool();
    if (has_oracle != (w.objective != nullptr)) in.corrupt("an oracle state");
    if (has_oracle) {
      model::OracleState o;
      o.rng = get_rng(in);
      o.order = in.get_vector<data::Index>();
      o.position = in.get<std::uint64_t>();
      o.drawn = in.get<std::uint64_t>();
      w.objective->restore_state(o);
    }
  } catch (const InvalidInput& e) {
    throw InvalidInput(name + ": " + rank + ": " + e.what());
  }
  w.rounds = in.get<std::int64_t>();
  w.gradients = in.get<std::uint64_t>();
  w.last_loss = in.get_f64();

  comm::Traffic t;
  t.bytes_sent = in.get<std::uint64_t>();
  t.collectives = in.get<std::uint64_t>();
  t.messages = in.get<std::uint64_t>();
  c.restore_traffic(t);
  comm::RuntimeState rt;
  rt.clock = in.get_f64();
  if (in.get_bool()) rt.noise = get_rng(in);
  rt.faults_fired = in.get<std::uint64_t>();
  c.restore_runtime_state(rt);

  Monitor::State m;
  m.rows_recorded = in.get<std::int64_t>();
  m.excluded_seconds = in.get_f64();
  m.clock = in.get_f64();
  m.stopped = in.get_bool();
  m.stop_reason = in.get_string();
  m.last_row = get_row(in);
  w.monitor.restore_state(m, c);

  const auto& entries = w.algo_state.entries();
  const std::uint64_t saved = in.get<std::uint64_t>();
  std::vector<bool> restored(entries.size(), false);
  for (std::uint64_t i = 0; i < saved; ++i) {
    const std::string key = in.get_string();
    std::size_t e = 0;
    while (e < entries.size() && entries[e].first != key) ++e;
    if (e == entries.size())
      throw InvalidInput(name + ": " + rank + " saved the algorithm state '" + key +
                         "', which this job's algorithm does not have (other algo settings?)");
    get_entry(in, entries[e].second);
    restored[e] = true;
  }
  for (std::size_t e = 0; e < entries.size(); ++e)
    if (!restored[e])
      throw InvalidInput(name + ": " + rank + " has no algorithm state '" + entries[e].first +
                         "' (written with other algo settings?)");
  if (!in.at_end()) in.corrupt("trailing bytes in a rank's record");
  return step;
}

// Records travel between ranks as float messages, 16 bits per float: every value is an
// exact small integer, whatever a runtime does to floats in transit.
std::vector<float> to_floats(std::span<const unsigned char> bytes) {
  std::vector<float> out((bytes.size() + 1) / 2, 0.0f);
  for (std::size_t i = 0; i < bytes.size(); ++i)
    out[i / 2] += float(unsigned(bytes[i]) << (8 * (i % 2)));
  return out;
}
Bytes from_floats(std::span<const float> floats, std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<unsigned char>(unsigned(floats[i / 2]) >> (8 * (i % 2)));
  return out;
}

void check_same_job(const JobIdentity& saved, const JobIdentity& job, const std::string& name) {
  std::string diff;
  auto compare = [&](const char* what, const std::string& a, const std::string& b) {
    if (a != b) diff += std::string("\n  ") + what + ": saved " + a + ", this job " + b;
  };
  compare("algorithm", saved.algorithm, job.algorithm);
  compare("problem", saved.problem, job.problem);
  compare("workers", std::to_string(saved.workers), std::to_string(job.workers));
  compare("ranks", std::to_string(saved.ranks), std::to_string(job.ranks));
  compare("dimension", std::to_string(saved.dim), std::to_string(job.dim));
  compare("seed", std::to_string(saved.seed), std::to_string(job.seed));
  if (!diff.empty())
    throw InvalidInput(name + " was written by another job; it cannot resume this one:" + diff);
}

// The magic, version and header of a checkpoint, from rank 0's view of the job.
Bytes checkpoint_head(const JobIdentity& job, const Worker& w, std::int64_t steps_done,
                      std::int64_t rounds, bool server_only) {
  CheckpointInfo info;
  info.job = job;
  info.step = steps_done;
  info.rounds = rounds;
  info.rows_recorded = w.monitor.rows_recorded();
  const Monitor::State m = w.monitor.save_state(w.comm);
  info.time = m.clock - m.excluded_seconds;
  info.stopped = m.stopped;
  info.stop_reason = m.stop_reason;
  info.server_only = server_only;
  ByteWriter out;
  out.bytes.assign(std::begin(magic), std::end(magic));
  out.put(format_version);
  put_header(out, info);
  return std::move(out.bytes);
}

// After the header: the number of records (write_u64), then each with its length.
void write_u64(AtomicFile& out, std::uint64_t v) {
  ByteWriter bytes;
  bytes.put(v);
  out.write(bytes.bytes);
}
void write_record(AtomicFile& out, const Bytes& record) {
  write_u64(out, record.size());
  out.write(record);
}

}  // namespace

AlgoState& AlgoState::put(std::string name, Ref ref) {
  for (const auto& [existing, _] : entries_)
    if (existing == name)
      throw InvalidInput("algorithm state '" + name + "' registered twice for checkpoints");
  entries_.emplace_back(std::move(name), ref);
  return *this;
}

CheckpointInfo read_checkpoint_info(const std::filesystem::path& file) {
  const Bytes bytes = read_file(file);
  ByteReader in(verified_body(bytes, name_of(file)), name_of(file));
  return get_header(in);
}

Checkpointer::Checkpointer(CheckpointSettings settings, JobIdentity identity)
    : settings_(std::move(settings)), identity_(std::move(identity)) {
  if (settings_.every < 0)
    throw InvalidInput("checkpoint.every = " + std::to_string(settings_.every) +
                       ": must be >= 0 (0: at the end only)");
}

void Checkpointer::require_started() const {
  if (!started_)
    throw InvalidInput("algo.name = \"" + identity_.algorithm +
                       "\" does not support checkpoints; run it without checkpoint settings");
}

std::int64_t Checkpointer::first_step(Worker& w) {
  started_ = true;
  if (!settings_.resume) {
    last_rounds_ = w.rounds;
    return 0;
  }
  comm::Communicator& c = w.comm;
  comm::Unmetered quiet(c);
  const std::size_t P = std::size_t(c.size());
  const std::string name = name_of(settings_.file);

  // Rank 0 reads and checks the file; each record goes from it to its rank.
  Bytes file;
  std::vector<std::span<const unsigned char>> records;
  std::vector<double> lengths(P, 0.0);
  if (c.rank() == 0) {
    file = read_file(settings_.file);
    ByteReader in(verified_body(file, name), name);
    const CheckpointInfo info = get_header(in);
    check_same_job(info.job, identity_, name);
    if (in.get<std::uint64_t>() != (info.server_only ? 1 : P))
      in.corrupt("a rank count that is not the header's");
    for (std::size_t r = 0; r < (info.server_only ? 1 : P); ++r) {
      records.push_back(in.get_bytes(std::size_t(in.get<std::uint64_t>())));
      lengths[r] = double(records.back().size());
    }
    if (!in.at_end()) in.corrupt("trailing bytes");
  }
  c.broadcast(std::span<double>(lengths), 0);
  Bytes mine;
  if (c.rank() == 0) mine.assign(records[0].begin(), records[0].end());
  for (std::size_t r = 1; r < P; ++r) {
    const std::size_t n = std::size_t(lengths[r]);
    if (n == 0) continue;  // a server's checkpoint: nothing for the workers
    std::vector<float> message =
        c.rank() == 0 ? to_floats(records[r]) : std::vector<float>((n + 1) / 2);
    c.broadcast(Span(message), 0);
    if (std::size_t(c.rank()) == r) mine = from_floats(message, n);
  }
  file.clear();
  if (lengths[std::size_t(c.rank())] == 0) return 0;  // a worker of a parameter server
  const std::int64_t step = restore_rank(w, mine, settings_.file);
  last_rounds_ = w.rounds;
  return step;
}

bool Checkpointer::due(const Worker& w, std::int64_t steps_done, std::int64_t rounds) const {
  const bool periodic =
      settings_.every > 0 && rounds != last_rounds_ && rounds % settings_.every == 0;
  return periodic || !w.monitor.keep_going(steps_done);
}

void Checkpointer::checkpoint_if_due(Worker& w, std::int64_t steps_done) {
  if (due(w, steps_done, w.rounds)) write(w, steps_done);
}

void Checkpointer::checkpoint_server_if_due(Worker& server, std::int64_t steps_done,
                                            std::int64_t rounds) {
  if (!due(server, steps_done, rounds)) return;
  const Bytes record = rank_record(server, steps_done);
  const double started = server.comm.now();
  AtomicFile out(settings_.file);
  out.write(checkpoint_head(identity_, server, steps_done, rounds, true));
  write_u64(out, 1);
  write_record(out, record);
  out.commit();
  server.monitor.exclude_time(server.comm.now() - started);
  last_rounds_ = rounds;
}

void Checkpointer::write(Worker& w, std::int64_t steps_done) {
  comm::Communicator& c = w.comm;
  const Bytes mine = rank_record(w, steps_done);  // before anything moves the clock
  comm::Unmetered quiet(c);
  const double started = c.now();
  const std::size_t P = std::size_t(c.size());

  // Rank 0 writes as the records arrive, one rank at a time.
  std::vector<double> lengths(P);
  const double my_length = double(mine.size());
  c.allgather(std::span<const double>(&my_length, 1), std::span<double>(lengths));
  std::optional<AtomicFile> out;
  if (c.rank() == 0) {
    out.emplace(settings_.file);
    out->write(checkpoint_head(identity_, w, steps_done, w.rounds, false));
    write_u64(*out, P);
    write_record(*out, mine);
  }
  for (std::size_t r = 1; r < P; ++r) {
    const std::size_t n = std::size_t(lengths[r]);
    std::vector<float> message =
        std::size_t(c.rank()) == r ? to_floats(mine) : std::vector<float>((n + 1) / 2);
    c.broadcast(Span(message), int(r));
    if (out) write_record(*out, from_floats(message, n));
  }
  if (out) out->commit();
  w.monitor.exclude_time(c.now() - started);
  last_rounds_ = w.rounds;
}

}  // namespace herd::algo
