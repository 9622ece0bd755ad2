#include "herd/model/linear_models.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <sstream>

#include "herd/core/error.hpp"

namespace herd::model {
namespace {

// log(1 + exp(t)) without overflow for large t or loss of precision for very negative t.
double softplus(double t) {
  return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t));
}

double sigmoid(double t) {
  if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

// Binary models: the loss at score z and its first derivative dz (and second d2 if asked).
double binary_loss(ModelKind kind, double z, double target, double& dz, double* d2 = nullptr) {
  if (kind == ModelKind::logistic) {
    const double margin = target * z;  // target is -1 or +1
    dz = -target * sigmoid(-margin);
    if (d2) *d2 = sigmoid(margin) * sigmoid(-margin);
    return softplus(-margin);
  }
  const double r = z - target;
  dz = r;
  if (d2) *d2 = 1.0;
  return 0.5 * r * r;
}

// Softmax cross-entropy at scores z with label y; z is overwritten with the probabilities.
double softmax_probabilities(std::span<double> z, std::size_t y) {
  const double top = *std::max_element(z.begin(), z.end());
  const double shifted_zy = z[y] - top;
  double sum = 0;
  for (double& v : z) sum += (v = std::exp(v - top));
  const double loss = std::log(sum) - shifted_zy;  // log-sum-exp minus z_y, both shifted
  for (double& v : z) v /= sum;
  return loss;
}

std::size_t class_of(const data::Dataset& data, std::size_t i) {
  return std::size_t(data.y[i]);
}

// f(j, a_ij) for every stored entry of row i.
template <class F>
void for_each_entry(const data::Dataset& data, std::size_t i, F&& f) {
  if (data.sparse) {
    for (std::uint64_t p = data.row_ptr[i]; p < data.row_ptr[i + 1]; ++p)
      f(std::size_t(data.col[p]), double(data.val[p]));
  } else {
    const float* row = data.val.data() + i * data.cols;
    for (std::size_t j = 0; j < data.cols; ++j) f(j, double(row[j]));
  }
}

// scores[c] = <row i, x_c> for G consecutive classes in one pass over the row, G sums in
// registers: G independent chains of additions instead of G serial ones.
template <int G, class T>
void scores_of_group(const data::Dataset& data, std::size_t i, const T* x, std::size_t features,
                     double* scores) {
  double s[G] = {};
  for_each_entry(data, i, [&](std::size_t j, double v) {
    for (int c = 0; c < G; ++c) s[c] += v * double(x[std::size_t(c) * features + j]);
  });
  for (int c = 0; c < G; ++c) scores[c] = s[c];
}

// All class scores of row i, four classes per pass (about 4x faster than C row_dot calls).
template <class T>
void class_scores(const data::Dataset& data, std::size_t i, std::span<const T> x,
                  std::size_t features, std::span<double> scores) {
  std::size_t c = 0;
  for (; c + 4 <= scores.size(); c += 4)
    scores_of_group<4>(data, i, x.data() + c * features, features, scores.data() + c);
  for (; c + 2 <= scores.size(); c += 2)
    scores_of_group<2>(data, i, x.data() + c * features, features, scores.data() + c);
  if (c < scores.size())
    scores_of_group<1>(data, i, x.data() + c * features, features, scores.data() + c);
}

double binary_target(const data::Dataset& data, std::size_t i) {
  return data.num_classes == 0 ? double(data.y[i]) : (data.y[i] > 0.5f ? 1.0 : -1.0);
}

}  // namespace

ModelKind parse_model_kind(const std::string& name) {
  if (name == "logistic") return ModelKind::logistic;
  if (name == "least_squares") return ModelKind::least_squares;
  if (name == "softmax") return ModelKind::softmax;
  throw InvalidInput("unknown model '" + name + "' (expected logistic, least_squares or softmax)");
}

std::string to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::logistic:
      return "logistic";
    case ModelKind::least_squares:
      return "least_squares";
    case ModelKind::softmax:
      return "softmax";
  }
  return "?";
}

data::BatchSampler worker_sampler(const std::vector<std::vector<data::Index>>& shards, int k,
                                  std::size_t batch, data::Sampling sampling, std::uint64_t seed,
                                  const std::string& who) {
  if (k < 0 || std::size_t(k) >= shards.size())
    throw InvalidInput(who + ": no worker " + std::to_string(k) + " among " +
                       std::to_string(shards.size()));
  return data::BatchSampler(shards[std::size_t(k)], batch, sampling,
                            Rng(seed, streams::worker_base + std::uint64_t(k)));
}

WeightedRows equal_worker_weights(const std::vector<std::vector<data::Index>>& shards,
                                  std::size_t rows, const std::string& who) {
  const double k_count = double(shards.size());
  std::vector<double> row_weight(rows, 0.0);
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const auto& shard = shards[k];
    if (shard.empty()) throw InvalidInput(who + ": shard " + std::to_string(k) + " is empty");
    for (const data::Index i : shard) {
      if (i >= rows)
        throw InvalidInput(who + ": shard " + std::to_string(k) + " names row " +
                           std::to_string(i) + " of a " + std::to_string(rows) +
                           "-row training set");
      row_weight[i] += 1.0 / (k_count * double(shard.size()));
    }
  }
  WeightedRows out;
  for (std::size_t i = 0; i < rows; ++i) {
    if (row_weight[i] == 0) continue;
    out.rows.push_back(data::Index(i));
    out.weight.push_back(row_weight[i]);
  }
  return out;
}

WeightedRows all_rows_mean(const data::Dataset& data) {
  WeightedRows r;
  r.rows.resize(data.rows);
  for (std::size_t i = 0; i < data.rows; ++i) r.rows[i] = data::Index(i);
  r.weight.assign(data.rows, 1.0 / double(data.rows));
  return r;
}

LinearModel::LinearModel(ModelKind kind, std::size_t features, int classes)
    : kind_(kind), features_(features), classes_(classes) {}

LinearModel LinearModel::for_data(ModelKind kind, const data::Dataset& data, std::size_t features,
                                  const std::string& role) {
  LinearModel m(kind, features, data.num_classes);
  m.check_labels(data, role);
  return m;
}

void LinearModel::check_labels(const data::Dataset& data, const std::string& role) const {
  const std::string what = to_string(kind_) + " model: " + role + " ";
  if (data.cols > features_) {
    std::ostringstream msg;
    msg << what << "has " << data.cols << " features, the model " << features_;
    throw InvalidInput(msg.str());
  }
  if (data.y.size() != data.rows) throw InvalidInput(what + "has a label count != row count");
  const std::string found = data.num_classes == 0 ? std::string("regression targets")
                                                  : std::to_string(data.num_classes) + " classes";
  switch (kind_) {
    case ModelKind::logistic:
      if (data.num_classes != 2)
        throw InvalidInput(what + "has " + found + "; logistic regression needs 2 classes");
      break;
    case ModelKind::least_squares:
      if (data.num_classes != 0 && data.num_classes != 2)
        throw InvalidInput(what + "has " + found +
                           "; least squares needs regression targets or 2 classes");
      if (data.num_classes != classes_)
        throw InvalidInput(what + "has " + found + ", unlike the training set");
      break;
    case ModelKind::softmax:
      if (data.num_classes < 2)
        throw InvalidInput(what + "has " + found + "; softmax regression needs classes");
      if (data.num_classes > classes_)
        throw InvalidInput(what + "has " + found + ", more than the model's " +
                           std::to_string(classes_));
      break;
  }
  if (data.num_classes == 0) return;
  for (std::size_t i = 0; i < data.rows; ++i) {
    const float y = data.y[i];
    if (!(y >= 0 && y < float(data.num_classes)) || y != std::floor(y)) {
      std::ostringstream msg;
      msg << what << "row " << i << " has label " << y << ", not a class index 0.."
          << data.num_classes - 1;
      throw InvalidInput(msg.str());
    }
  }
}

std::size_t LinearModel::dim() const {
  return kind_ == ModelKind::softmax ? features_ * std::size_t(classes_) : features_;
}

double LinearModel::curvature_factor() const {
  switch (kind_) {
    case ModelKind::logistic:
      return 0.25;
    case ModelKind::least_squares:
      return 1.0;
    case ModelKind::softmax:
      return 0.5;
  }
  return 1.0;
}

template <class T>
double LinearModel::accumulate(const data::Dataset& data, std::span<const data::Index> rows,
                               std::span<const double> weights, double lambda, std::span<const T> x,
                               std::span<T> g) const {
  assert(x.size() == dim() && (g.empty() || g.size() == dim()) && !rows.empty());
  const bool with_grad = !g.empty();
  double reg = 0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    reg += double(x[j]) * double(x[j]);
    if (with_grad) g[j] = T(lambda * double(x[j]));
  }
  const double uniform = 1.0 / double(rows.size());
  std::vector<double> scores(kind_ == ModelKind::softmax ? std::size_t(classes_) : 0);
  double loss = 0;
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const std::size_t i = rows[j];
    const double w = weights.empty() ? uniform : weights[j];
    if (kind_ == ModelKind::softmax) {
      class_scores(data, i, x, features_, std::span<double>(scores));
      const std::size_t y = class_of(data, i);
      loss += w * softmax_probabilities(scores, y);
      if (!with_grad) continue;
      scores[y] -= 1.0;  // d loss / d z_c = p_c - [c == y]
      for (std::size_t c = 0; c < scores.size(); ++c)
        data.row_axpy(i, T(w * scores[c]), g.subspan(c * features_, features_));
    } else {
      double dz;
      loss += w * binary_loss(kind_, data.row_dot(i, x), binary_target(data, i), dz);
      if (with_grad) data.row_axpy(i, T(w * dz), g);
    }
  }
  return loss + 0.5 * lambda * reg;
}

double LinearModel::batch_loss_grad(const data::Dataset& data, std::span<const data::Index> rows,
                                    double lambda, CSpan x, Span g) const {
  return accumulate<float>(data, rows, {}, lambda, x, g);
}

double LinearModel::loss_grad(const data::Dataset& data, const WeightedRows& rows, double lambda,
                              std::span<const double> x, std::span<double> g) const {
  return accumulate<double>(data, rows.rows, rows.weight, lambda, x, g);
}

namespace {

// Flops of the two ways hessian() can form the Hessian. Pairs: every pair of a sparse row's
// non-zeros, for every pair of class blocks. Rank updates: every rank-one term times dim^2.
double pair_cost(const LinearModel& m, const data::Dataset& data, const WeightedRows& rows) {
  if (!data.sparse) return std::numeric_limits<double>::infinity();
  const double blocks = m.kind() == ModelKind::softmax ? double(m.classes()) : 1.0;
  double pairs = 0;
  for (const data::Index i : rows.rows) {
    const double nnz = double(data.row_ptr[i + 1] - data.row_ptr[i]);
    pairs += nnz * nnz;
  }
  return pairs * blocks * blocks;
}

double rank_update_cost(const LinearModel& m, const WeightedRows& rows) {
  const double terms = m.kind() == ModelKind::softmax ? double(m.classes()) : 1.0;
  return double(rows.rows.size()) * terms * double(m.dim()) * double(m.dim());
}

}  // namespace

double LinearModel::hessian_cost(const data::Dataset& data, const WeightedRows& rows) const {
  return std::min(pair_cost(*this, data, rows), rank_update_cost(*this, rows));
}

Eigen::MatrixXd LinearModel::hessian(const data::Dataset& data, const WeightedRows& rows,
                                     double lambda, std::span<const double> x) const {
  const auto d = Eigen::Index(dim());
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(d, d);
  const bool softmax = kind_ == ModelKind::softmax;
  std::vector<double> p(softmax ? std::size_t(classes_) : 0);
  if (pair_cost(*this, data, rows) <= rank_update_cost(*this, rows)) {
    // Few non-zeros per row: add S_i kron a_i a_i' entry by entry, S_i the Hessian of the
    // loss in the scores (w f'' for binary models, w (diag(p) - p p') for softmax).
    const std::size_t blocks = softmax ? p.size() : 1;
    Eigen::MatrixXd s(blocks, blocks);
    for (std::size_t j = 0; j < rows.rows.size(); ++j) {
      const std::size_t i = rows.rows[j];
      const double w = rows.weight[j];
      if (softmax) {
        class_scores(data, i, x, features_, std::span<double>(p));
        softmax_probabilities(p, class_of(data, i));
        const Eigen::Map<const Eigen::VectorXd> pv(p.data(), Eigen::Index(blocks));
        s = -w * pv * pv.transpose();
        s.diagonal() += w * pv;
      } else {
        double dz, d2;
        binary_loss(kind_, data.row_dot(i, x), binary_target(data, i), dz, &d2);
        s(0, 0) = w * d2;
      }
      const auto begin = data.row_ptr[i], end = data.row_ptr[i + 1];
      if (!softmax) {  // the lower triangle only, mirrored below
        for (auto a = begin; a < end; ++a)
          for (auto b = begin; b <= a; ++b)
            h(data.col[a], data.col[b]) += s(0, 0) * double(data.val[a]) * double(data.val[b]);
        continue;
      }
      for (auto a = begin; a < end; ++a) {
        for (auto b = begin; b < end; ++b) {
          const double v = double(data.val[a]) * double(data.val[b]);
          for (std::size_t c = 0; c < blocks; ++c)
            for (std::size_t c2 = 0; c2 < blocks; ++c2)
              h(Eigen::Index(c * features_ + data.col[a]),
                Eigen::Index(c2 * features_ + data.col[b])) +=
                  s(Eigen::Index(c), Eigen::Index(c2)) * v;
        }
      }
    }
    if (!softmax) h = h.selfadjointView<Eigen::Lower>();
  } else {
    // The Hessian is a sum of rank-one terms u u'. Binary: u = sqrt(w f'') a_i. Softmax:
    // diag(p) - p p' = sum_c p_c (e_c - p)(e_c - p)', so u_c = sqrt(w p_c) (e_c - p) kron a_i.
    // Gather the terms in blocks and add each block with one symmetric rank-k update.
    constexpr Eigen::Index block = 256;
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> u(block, d);
    u.setZero();
    Eigen::Index filled = 0;
    const auto flush = [&] {
      if (filled == 0) return;  // Eigen's blocking heuristic divides by the rank
      h.selfadjointView<Eigen::Lower>().rankUpdate(u.topRows(filled).transpose());
      u.topRows(filled).setZero();
      filled = 0;
    };
    const auto term_row = [&] { return std::span<double>(u.row(filled).data(), std::size_t(d)); };
    for (std::size_t j = 0; j < rows.rows.size(); ++j) {
      const std::size_t i = rows.rows[j];
      const double w = rows.weight[j];
      if (softmax) {
        class_scores(data, i, x, features_, std::span<double>(p));
        softmax_probabilities(p, class_of(data, i));
        for (std::size_t c = 0; c < p.size(); ++c) {
          const double s = std::sqrt(w * p[c]);
          if (s == 0) continue;
          const std::span<double> term = term_row();
          for (std::size_t c2 = 0; c2 < p.size(); ++c2)
            data.row_axpy(i, s * (double(c == c2) - p[c2]),
                          term.subspan(c2 * features_, features_));
          if (++filled == block) flush();
        }
      } else {
        double dz, d2;
        binary_loss(kind_, data.row_dot(i, x), binary_target(data, i), dz, &d2);
        const double s = std::sqrt(w * d2);
        if (s == 0) continue;
        data.row_axpy(i, s, term_row());
        if (++filled == block) flush();
      }
    }
    flush();
    h = h.selfadjointView<Eigen::Lower>();
  }
  h.diagonal().array() += lambda;
  return h;
}

std::optional<double> LinearModel::accuracy(const data::Dataset& data, const WeightedRows& rows,
                                            std::span<const double> x) const {
  if (data.num_classes == 0) return std::nullopt;
  double right = 0, total = 0;
  std::vector<double> scores(kind_ == ModelKind::softmax ? std::size_t(classes_) : 0);
  for (std::size_t j = 0; j < rows.rows.size(); ++j) {
    const std::size_t i = rows.rows[j];
    std::size_t predicted;
    if (kind_ == ModelKind::softmax) {
      class_scores(data, i, x, features_, std::span<double>(scores));
      predicted = std::size_t(std::max_element(scores.begin(), scores.end()) - scores.begin());
    } else {
      predicted = data.row_dot(i, x) > 0 ? 1 : 0;
    }
    total += rows.weight[j];
    if (predicted == class_of(data, i)) right += rows.weight[j];
  }
  return total > 0 ? right / total : 0.0;
}

double weighted_gram_max_eigenvalue(const data::Dataset& data, const WeightedRows& rows,
                                    std::size_t features) {
  std::vector<double> v(features, 1.0 / std::sqrt(double(features))), mv(features);
  double estimate = 0;
  for (int it = 0; it < 500; ++it) {
    std::fill(mv.begin(), mv.end(), 0.0);
    for (std::size_t j = 0; j < rows.rows.size(); ++j)
      data.row_axpy(rows.rows[j], rows.weight[j] * data.row_dot(rows.rows[j], v), mv);
    double rayleigh = 0, norm2 = 0;
    for (std::size_t c = 0; c < features; ++c) rayleigh += v[c] * mv[c], norm2 += mv[c] * mv[c];
    if (norm2 == 0) return 0;
    const double norm = std::sqrt(norm2);
    for (std::size_t c = 0; c < features; ++c) v[c] = mv[c] / norm;
    const bool settled = std::abs(rayleigh - estimate) <= 1e-10 * rayleigh;
    estimate = rayleigh;
    if (settled) break;
  }
  return estimate;
}

}  // namespace herd::model
