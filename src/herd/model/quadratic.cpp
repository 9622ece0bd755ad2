#include "herd/model/quadratic.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "herd/core/error.hpp"
#include "herd/core/rng.hpp"
#include "herd/model/factory.hpp"
#include "herd/model/knobs.hpp"
#include "herd/model/registry.hpp"

namespace herd::model {
namespace {

// Relative tolerance for symmetry, semi-definiteness and singularity checks.
constexpr double tolerance = 1e-12;

std::string worker(std::size_t k) {
  return "quadratic problem: worker " + std::to_string(k);
}

class QuadraticLocal final : public LocalObjective {
 public:
  // Refers to its term, which the oracles and the problem share (an oracle per simulated
  // worker: a copy cost 100 bytes and two allocations each).
  QuadraticLocal(std::shared_ptr<const std::vector<QuadraticTerm>> terms, int k, double sigma,
                 std::size_t batch, Rng rng)
      : terms_(std::move(terms)),
        term_((*terms_)[std::size_t(k)]),
        noise_(sigma / std::sqrt(double(batch))),
        batch_(batch),
        rng_(rng),
        x_(term_.center.size()),
        g_(term_.center.size()) {}

  double grad(CSpan x, Span g) override {
    for (Eigen::Index j = 0; j < x_.size(); ++j) x_[j] = x[std::size_t(j)];
    const double f = term_.value_grad(x_, g_);
    for (Eigen::Index j = 0; j < g_.size(); ++j)
      g[std::size_t(j)] = float(noise_ > 0 ? g_[j] + noise_ * rng_.normal() : g_[j]);
    return f;
  }
  std::size_t batch() const override { return batch_; }
  double epochs() const override { return 0; }
  OracleState save_state() const override {
    OracleState s;
    s.rng = rng_.state();
    return s;
  }
  void restore_state(const OracleState& s) override { rng_ = Rng(s.rng); }

 private:
  std::shared_ptr<const std::vector<QuadraticTerm>> terms_;
  const QuadraticTerm& term_;
  double noise_;
  std::size_t batch_;
  Rng rng_;
  Eigen::VectorXd x_, g_;
};

}  // namespace

double QuadraticTerm::value_grad(const Eigen::VectorXd& x, Eigen::VectorXd& g) const {
  if (dense.size() > 0) {
    const Eigen::VectorXd r = x - center;
    g.noalias() = dense * r;
    return 0.5 * r.dot(g);
  }
  // x - center as an expression, not a vector: a gradient allocates nothing (the simulator
  // takes millions of them per second).
  g = diagonal.cwiseProduct(x - center);
  return 0.5 * (x - center).dot(g);
}

QuadraticProblem::QuadraticProblem(std::vector<Eigen::MatrixXd> curvatures,
                                   std::vector<Eigen::VectorXd> centers, double sigma,
                                   std::size_t batch, Eigen::VectorXd x0)
    : QuadraticProblem(
          [&] {
            if (curvatures.size() != centers.size())
              throw InvalidInput("quadratic problem: " + std::to_string(curvatures.size()) +
                                 " curvature matrices for " + std::to_string(centers.size()) +
                                 " centres");
            std::vector<QuadraticTerm> terms(centers.size());
            for (std::size_t k = 0; k < terms.size(); ++k)
              terms[k] = {std::move(curvatures[k]), {}, std::move(centers[k])};
            return terms;
          }(),
          false, sigma, batch, std::move(x0)) {}

QuadraticProblem QuadraticProblem::diagonal(std::vector<Eigen::VectorXd> diagonals,
                                            std::vector<Eigen::VectorXd> centers, double sigma,
                                            std::size_t batch, Eigen::VectorXd x0) {
  if (diagonals.size() != centers.size())
    throw InvalidInput("quadratic problem: " + std::to_string(diagonals.size()) +
                       " diagonals for " + std::to_string(centers.size()) + " centres");
  std::vector<QuadraticTerm> terms(centers.size());
  for (std::size_t k = 0; k < terms.size(); ++k)
    terms[k] = {{}, std::move(diagonals[k]), std::move(centers[k])};
  return QuadraticProblem(std::move(terms), true, sigma, batch, std::move(x0));
}

QuadraticProblem::QuadraticProblem(std::vector<QuadraticTerm> terms, bool diagonal, double sigma,
                                   std::size_t batch, Eigen::VectorXd x0)
    : terms_(std::make_shared<const std::vector<QuadraticTerm>>(std::move(terms))),
      diagonal_(diagonal),
      sigma_(sigma),
      batch_(batch),
      x0_(std::move(x0)) {
  if (terms_->empty()) throw InvalidInput("quadratic problem: no workers");
  if (!(sigma_ >= 0) || !std::isfinite(sigma_))
    throw InvalidInput("quadratic problem: sigma must be finite and >= 0");
  if (batch_ == 0) throw InvalidInput("quadratic problem: batch must be >= 1");
  const Eigen::Index d = (*terms_)[0].center.size();
  if (d == 0) throw InvalidInput("quadratic problem: dimension 0");

  Eigen::MatrixXd sum_dense = Eigen::MatrixXd::Zero(diagonal_ ? 0 : d, diagonal_ ? 0 : d);
  Eigen::VectorXd sum_diagonal = Eigen::VectorXd::Zero(d), rhs = Eigen::VectorXd::Zero(d);
  for (std::size_t k = 0; k < terms_->size(); ++k) {
    const QuadraticTerm& t = (*terms_)[k];
    if (t.center.size() != d) throw InvalidInput(worker(k) + ": centre of the wrong dimension");
    if (!t.center.allFinite()) throw InvalidInput(worker(k) + ": centre not finite");
    if (diagonal_) {
      if (t.diagonal.size() != d)
        throw InvalidInput(worker(k) + ": diagonal of the wrong dimension");
      if (!t.diagonal.allFinite() || t.diagonal.minCoeff() < 0)
        throw InvalidInput(worker(k) + ": diagonal entries must be finite and >= 0");
      sum_diagonal += t.diagonal;
      rhs += t.diagonal.cwiseProduct(t.center);
      continue;
    }
    if (t.dense.rows() != d || t.dense.cols() != d)
      throw InvalidInput(worker(k) + ": curvature matrix is not " + std::to_string(d) + " x " +
                         std::to_string(d));
    const double scale = std::max(1.0, t.dense.cwiseAbs().maxCoeff());
    if (!t.dense.allFinite() ||
        (t.dense - t.dense.transpose()).cwiseAbs().maxCoeff() > tolerance * scale)
      throw InvalidInput(worker(k) + ": curvature matrix is not finite and symmetric");
    const Eigen::VectorXd eig =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(t.dense, Eigen::EigenvaluesOnly)
            .eigenvalues();
    if (eig.minCoeff() < -tolerance * scale) {
      std::ostringstream msg;
      msg << worker(k) << ": curvature matrix is not positive semi-definite (eigenvalue "
          << eig.minCoeff() << ")";
      throw InvalidInput(msg.str());
    }
    sum_dense += t.dense;
    rhs += t.dense * t.center;
  }
  if (x0_.size() == 0) x0_ = Eigen::VectorXd::Zero(d);
  if (x0_.size() != d)
    throw InvalidInput("quadratic problem: initial point of the wrong dimension");

  const double k_count = double(terms_->size());
  Eigen::VectorXd mean_eig;
  if (diagonal_) {
    mean_eig = sum_diagonal / k_count;
  } else {
    mean_eig =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(sum_dense / k_count, Eigen::EigenvaluesOnly)
            .eigenvalues();
  }
  curvature_ = {mean_eig.minCoeff(), mean_eig.maxCoeff()};
  if (!(curvature_.mu > tolerance * curvature_.L)) {
    std::ostringstream msg;
    msg << "quadratic problem: the mean curvature matrix is not positive definite (smallest "
           "eigenvalue "
        << curvature_.mu << ")";
    throw InvalidInput(msg.str());
  }
  x_star_ = diagonal_ ? Eigen::VectorXd(rhs.cwiseQuotient(sum_diagonal))
                      : Eigen::VectorXd(sum_dense.llt().solve(rhs));
  Eigen::VectorXd g;
  f_star_ = value_grad(x_star_, g);
}

Eigen::VectorXd QuadraticProblem::weighted_minimizer(const std::vector<double>& weights) const {
  if (weights.size() != terms_->size())
    throw InvalidInput("quadratic problem: " + std::to_string(weights.size()) + " weights for " +
                       std::to_string(terms_->size()) + " workers");
  const Eigen::Index d = x_star_.size();
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(d), diagonal = Eigen::VectorXd::Zero(d);
  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(diagonal_ ? 0 : d, diagonal_ ? 0 : d);
  for (std::size_t k = 0; k < terms_->size(); ++k) {
    const QuadraticTerm& t = (*terms_)[k];
    if (diagonal_) {
      diagonal += weights[k] * t.diagonal;
      rhs += weights[k] * t.diagonal.cwiseProduct(t.center);
    } else {
      dense += weights[k] * t.dense;
      rhs += weights[k] * (t.dense * t.center);
    }
  }
  if (diagonal_) {
    if (!(diagonal.minCoeff() > 0))
      throw InvalidInput("quadratic problem: the weighted curvature is singular");
    return rhs.cwiseQuotient(diagonal);
  }
  const Eigen::LDLT<Eigen::MatrixXd> solver(dense);
  if (solver.info() != Eigen::Success || !(solver.vectorD().minCoeff() > 0))
    throw InvalidInput("quadratic problem: the weighted curvature is singular");
  return solver.solve(rhs);
}

double QuadraticProblem::value_grad(const Eigen::VectorXd& x, Eigen::VectorXd& g) const {
  g = Eigen::VectorXd::Zero(x.size());
  Eigen::VectorXd gk;
  double f = 0;
  for (const QuadraticTerm& t : *terms_) {
    f += t.value_grad(x, gk);
    g += gk;
  }
  g /= double(terms_->size());
  return f / double(terms_->size());
}

std::string QuadraticProblem::describe() const {
  std::ostringstream s;
  s << "quadratic: dim " << dim() << ", " << workers() << " workers, "
    << (diagonal_ ? "diagonal" : "dense") << " curvature, mu " << curvature_.mu << ", L "
    << curvature_.L << ", sigma " << sigma_ << ", batch " << batch_;
  return s.str();
}

void QuadraticProblem::initial_point(Span x) const {
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = float(x0_[Eigen::Index(j)]);
}

std::unique_ptr<LocalObjective> QuadraticProblem::local(int k, std::uint64_t seed) const {
  if (k < 0 || k >= workers())
    throw InvalidInput("quadratic problem: no worker " + std::to_string(k) + " among " +
                       std::to_string(workers()));
  return std::make_unique<QuadraticLocal>(terms_, k, sigma_, batch_,
                                          Rng(seed, streams::worker_base + std::uint64_t(k)));
}

Evaluation QuadraticProblem::evaluate(CSpan x) const {
  Eigen::VectorXd xd(x.size()), g;
  for (std::size_t j = 0; j < x.size(); ++j) xd[Eigen::Index(j)] = x[j];
  Evaluation e;
  e.train_loss = value_grad(xd, g);
  e.grad_norm2 = g.squaredNorm();
  return e;
}

std::optional<std::vector<double>> QuadraticProblem::optimum_point() const {
  return std::vector<double>(x_star_.data(), x_star_.data() + x_star_.size());
}

}  // namespace herd::model

// ---- Registration -----------------------------------------------------------------------

namespace herd::model {
namespace {

// Values come from the options' declared defaults (knobs()).
struct QuadraticSettings {
  std::size_t dim{};
  double mu{};
  double smoothness{};
  double spread{};
  double noise{};
  std::string init;
  double init_scale{};

  static const Knobs<QuadraticSettings>& knobs() {
    using S = QuadraticSettings;
    static const auto k =
        Knobs<S>()
            .add(knobs::dim(), &S::dim)
            .add(number("model.mu", 1.0, "Strong convexity mu (smallest curvature).").gt(0), &S::mu)
            .add(number("model.smoothness", 10.0, "Smoothness L (largest curvature), >= mu.").gt(0),
                 &S::smoothness)
            .add(number("model.spread", 1.0,
                        "Worker optima a_k = spread * N(0, I); 0 = the same optimum for all.")
                     .ge(0),
                 &S::spread)
            .add(knobs::noise(), &S::noise)
            .add(knobs::init(), &S::init)
            .add(knobs::init_scale(), &S::init_scale);
    return k;
  }
  void resolve(const ModelContext&) const {
    if (smoothness < mu)
      throw InvalidInput(
          fmt::format("model.smoothness = {} must be at least model.mu = {}", smoothness, mu));
  }
};

}  // namespace

HERD_REGISTER_MODEL(quadratic,
                    ModelDef<QuadraticSettings>{
                        .name = "quadratic",
                        .summary = "One quadratic per worker with a known optimum; uses no data.",
                        .order = 50,
                        .build = [](const QuadraticSettings& s, const ModelContext& c) {
                          QuadraticSpec q;
                          q.dim = s.dim;
                          q.workers = c.workers;
                          q.mu = s.mu;
                          q.L = s.smoothness;
                          q.spread = s.spread;
                          q.sigma = s.noise;
                          q.batch = c.batch;
                          q.init = {parse_init_kind(s.init), s.init_scale};
                          const bool normal = q.init.kind == InitSpec::Kind::normal;
                          return BuiltModel{
                              make_quadratic_problem(q, c.seed),
                              {},
                              fmt::format("quadratic, d = {}, K = {}, mu = {}, L = {}{}", q.dim,
                                          c.workers, q.mu, q.L,
                                          normal ? fmt::format(", x_0 ~ N(0, {}^2 I)", s.init_scale)
                                                 : std::string())};
                        }});

}  // namespace herd::model
