#include "herd/algo/checkpoint.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <vector>

#include "herd/algo/worker.hpp"
#include "herd/core/bytes.hpp"
#include "herd/core/durable_file.hpp"
#include "herd/core/error.hpp"

namespace herd::algo {
namespace {

constexpr char magic[8] = {'H', 'E', 'R', 'D', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t format_version = 2;

std::string name_of(const std::filesystem::path& file) {
  return "checkpoint " + file.string();
}

// --- The header: the job's identity and where it stood (rank 0's view). ---

void put_header(ByteWriter& w, const CheckpointInfo& info) {
  w.put(info.job.algorithm);
  w.put(info.job.problem);
  w.put(std::int32_t(info.job.workers));
  w.put(std::int32_t(info.job.ranks));
  w.put(info.job.dim);
  w.put(info.job.seed);
  w.put(info.step);
  w.put(info.rounds);
  w.put(info.rows_recorded);
  w.put(info.time);
  w.put(info.stopped);
  w.put(info.stop_reason);
  w.put(info.server_only);
}

CheckpointInfo get_header(ByteReader& r) {
  CheckpointInfo info;
  info.job.algorithm = r.get<std::string>();
  info.job.problem = r.get<std::string>();
  info.job.workers = r.get<std::int32_t>();
  info.job.ranks = r.get<std::int32_t>();
  info.job.dim = r.get<std::uint64_t>();
  info.job.seed = r.get<std::uint64_t>();
  info.step = r.get<std::int64_t>();
  info.rounds = r.get<std::int64_t>();
  info.rows_recorded = r.get<std::int64_t>();
  info.time = r.get<double>();
  info.stopped = r.get<bool>();
  info.stop_reason = r.get<std::string>();
  info.server_only = r.get<bool>();
  return info;
}

// Checks the magic, version and checksum; returns the bytes between the version and the
// checksum.
ByteSpan verified_body(ByteSpan file, const std::string& name) {
  constexpr std::size_t prefix = sizeof magic + 4, crc_bytes = 4;
  if (file.size() < prefix + crc_bytes)
    throw IoError(name + ": truncated (" + std::to_string(file.size()) + " bytes)");
  if (std::memcmp(file.data(), magic, sizeof magic) != 0)
    throw IoError(name + ": not a herd checkpoint (bad magic)");
  const std::size_t body_end = file.size() - crc_bytes;
  const std::uint32_t crc = checksum(file.subspan(0, body_end));
  if (ByteReader{file.subspan(body_end), name}.get<std::uint32_t>() != crc)
    throw IoError(name + ": checksum mismatch (truncated or corrupt)");
  const auto version = ByteReader{file.subspan(sizeof magic), name}.get<std::uint32_t>();
  if (version != format_version)
    throw IoError(name + ": format version " + std::to_string(version) + ", this build reads " +
                  std::to_string(format_version));
  return file.subspan(prefix, body_end - prefix);
}

Bytes read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(name_of(file) + ": cannot open: " + std::strerror(errno));
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(name_of(file) + ": read error");
  return bytes;
}

// --- One rank's record: its rank, the step to continue at, its state (Worker::save). ---

Bytes rank_record(const Worker& w, std::int64_t steps_done) {
  ByteWriter out;
  out.put(std::int32_t(w.comm.rank()));
  out.put(steps_done);
  w.save(out);
  return std::move(out.bytes);
}

// Restores rank `w`'s state from its record; returns the step to continue at.
std::int64_t restore_rank(Worker& w, ByteSpan record, const std::filesystem::path& file) {
  const std::string name = name_of(file);
  ByteReader in(record, name);
  if (in.get<std::int32_t>() != w.comm.rank()) in.corrupt("the record of another rank");
  const auto step = in.get<std::int64_t>();
  w.load(in, name + ": rank " + std::to_string(w.comm.rank()));
  in.expect_end("a rank's record");
  return step;
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
  out.append(ByteSpan(reinterpret_cast<const unsigned char*>(magic), sizeof magic));
  out.put(format_version);
  put_header(out, info);
  return std::move(out.bytes);
}

// After the header: the number of records, then each with its length.
void write_count(DurableFile& out, std::uint64_t n) {
  ByteWriter bytes;
  bytes.put(n);
  out.write(bytes.bytes);
}
void write_record(DurableFile& out, ByteSpan record) {
  write_count(out, record.size());
  out.write(record);
}
// The checksum of everything written, then the file goes in place.
void seal(DurableFile& out) {
  ByteWriter crc;
  crc.put(out.crc32());
  out.write(crc.bytes);
  out.commit();
}

}  // namespace

CheckpointInfo read_checkpoint_info(const std::filesystem::path& file) {
  const Bytes bytes = read_file(file);
  const std::string name = name_of(file);
  ByteReader in(verified_body(bytes, name), name);
  return get_header(in);
}

void check_same_job(const JobIdentity& saved, const JobIdentity& job,
                    const std::filesystem::path& file) {
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
    throw InvalidInput(name_of(file) +
                       " was written by another job; it cannot resume this one:" + diff);
}

CheckpointContents decode_checkpoint(ByteSpan bytes, const std::string& name) {
  ByteReader in(verified_body(bytes, name), name);
  CheckpointContents out;
  out.info = get_header(in);
  const auto count = in.get<std::uint64_t>();
  // Each record takes at least its 8-byte length: a wild count runs out of bytes first.
  for (std::uint64_t r = 0; r < count; ++r)
    out.records.push_back(in.get_bytes(std::size_t(in.get<std::uint64_t>())));
  in.expect_end("the records");
  return out;
}

Checkpointer::Checkpointer(CheckpointSettings settings, JobIdentity identity)
    : settings_(std::move(settings)), identity_(std::move(identity)) {
  if (settings_.every < 0)
    throw InvalidInput("checkpoint.every = " + std::to_string(settings_.every) +
                       ": must be >= 0 (0: at the end only)");
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
  std::vector<ByteSpan> records;
  std::vector<double> lengths(P, 0.0);
  if (c.rank() == 0) {
    file = read_file(settings_.file);
    CheckpointContents contents = decode_checkpoint(file, name);
    check_same_job(contents.info.job, identity_, settings_.file);
    const std::size_t saved = contents.info.server_only ? 1 : P;
    if (contents.records.size() != saved)
      throw IoError(name + ": corrupt or from an incompatible build (" +
                    std::to_string(contents.records.size()) + " records for " +
                    std::to_string(saved) + (saved == 1 ? " rank" : " ranks") + ")");
    records = std::move(contents.records);
    for (std::size_t r = 0; r < saved; ++r) lengths[r] = double(records[r].size());
  }
  c.broadcast(std::span<double>(lengths), 0);
  Bytes mine;
  if (c.rank() == 0) mine.assign(records[0].begin(), records[0].end());
  for (std::size_t r = 1; r < P; ++r) {
    const std::size_t n = std::size_t(lengths[r]);
    if (n == 0) continue;  // a server's checkpoint: nothing for the workers
    Bytes message = c.rank() == 0 ? Bytes(records[r].begin(), records[r].end()) : Bytes(n);
    c.broadcast(std::span<unsigned char>(message), 0);
    if (std::size_t(c.rank()) == r) mine = std::move(message);
  }
  file.clear();
  if (lengths[std::size_t(c.rank())] == 0) return 0;  // a worker of a server's job
  const std::int64_t step = restore_rank(w, mine, settings_.file);
  last_rounds_ = w.rounds;
  return step;
}

bool Checkpointer::due(const Worker& w, std::int64_t steps_done, std::int64_t rounds) const {
  const bool periodic =
      settings_.every > 0 && rounds != last_rounds_ && rounds % settings_.every == 0;
  return periodic || !w.monitor.keep_going(steps_done);
}

void Checkpointer::checkpoint_server_if_due(Worker& server, std::int64_t steps_done,
                                            std::int64_t rounds) {
  if (!due(server, steps_done, rounds)) return;
  const Bytes record = rank_record(server, steps_done);
  const double started = server.comm.now();
  DurableFile out(settings_.file);
  out.write(checkpoint_head(identity_, server, steps_done, rounds, true));
  write_count(out, 1);
  write_record(out, record);
  seal(out);
  server.monitor.exclude_time(server.comm.now() - started);
  last_rounds_ = rounds;
}

void Checkpointer::checkpoint_if_due(Worker& w, std::int64_t steps_done) {
  if (!due(w, steps_done, w.rounds)) return;
  comm::Communicator& c = w.comm;
  const Bytes mine = rank_record(w, steps_done);  // before anything moves the clock
  comm::Unmetered quiet(c);
  const double started = c.now();
  const std::size_t P = std::size_t(c.size());

  // Rank 0 writes as the records arrive, one rank at a time.
  std::vector<double> lengths(P);
  const double my_length = double(mine.size());
  c.allgather(std::span<const double>(&my_length, 1), std::span<double>(lengths));
  std::optional<DurableFile> out;
  if (c.rank() == 0) {
    out.emplace(settings_.file);
    out->write(checkpoint_head(identity_, w, steps_done, w.rounds, false));
    write_count(*out, P);
    write_record(*out, mine);
  }
  for (std::size_t r = 1; r < P; ++r) {
    Bytes message = std::size_t(c.rank()) == r ? mine : Bytes(std::size_t(lengths[r]));
    c.broadcast(std::span<unsigned char>(message), int(r));
    if (out) write_record(*out, message);
  }
  if (out) seal(*out);
  w.monitor.exclude_time(c.now() - started);
  last_rounds_ = w.rounds;
}

}  // namespace herd::algo
