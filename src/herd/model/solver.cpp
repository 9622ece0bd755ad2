#include "herd/model/solver.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>

namespace herd::model {
namespace {

using Vec = Eigen::VectorXd;

struct Point {
  Vec x, g;
  double f = 0, gn2 = 0;
};

Point evaluate(const SmoothFunction& fn, Vec x) {
  Point p{std::move(x), Vec(Eigen::Index(fn.dim)), 0, 0};
  p.f = fn.value_grad({p.x.data(), fn.dim}, {p.g.data(), fn.dim});
  p.gn2 = p.g.squaredNorm();
  return p;
}

// Backtracking from step t along dir. Accepts the Armijo decrease; close to the minimum, where
// changes of f drown in rounding, accepts instead a step that leaves f level (to rounding) and
// shrinks the gradient, so the last digits still converge. nullopt: no acceptable step.
std::optional<Point> line_search(const SmoothFunction& fn, const Point& at, const Vec& dir,
                                 double t) {
  const double slope = at.g.dot(dir);
  const double rounding = 1e-14 * std::max(1.0, std::abs(at.f));
  for (int halvings = 0; halvings < 60; ++halvings, t *= 0.5) {
    Point trial = evaluate(fn, at.x + t * dir);
    if (!std::isfinite(trial.f) || !std::isfinite(trial.gn2)) continue;
    if (trial.f <= at.f + 1e-4 * t * slope) return trial;
    if (trial.f <= at.f + rounding && trial.gn2 < at.gn2) return trial;
  }
  return std::nullopt;
}

MinimizeResult finish(const Point& p, int iterations, bool converged) {
  return {std::vector<double>(p.x.data(), p.x.data() + p.x.size()), p.f, p.gn2, iterations,
          converged};
}

MinimizeResult newton(const SmoothFunction& fn, Point cur, double tol, const MinimizeOptions& opt) {
  for (int it = 0; it < opt.max_newton_iterations; ++it) {
    if (cur.gn2 <= tol) return finish(cur, it, true);
    const Eigen::MatrixXd h = fn.hessian({cur.x.data(), fn.dim});
    Vec dir = h.ldlt().solve(-cur.g);
    if (!dir.allFinite() || cur.g.dot(dir) >= 0) dir = -cur.g;
    std::optional<Point> next = line_search(fn, cur, dir, 1.0);
    if (!next) return finish(cur, it, false);
    cur = std::move(*next);
  }
  return finish(cur, opt.max_newton_iterations, cur.gn2 <= tol);
}

MinimizeResult lbfgs(const SmoothFunction& fn, Point cur, double tol, const MinimizeOptions& opt) {
  std::deque<Vec> s_hist, y_hist;
  std::deque<double> rho;
  std::vector<double> alpha;
  // Progress check every `window` iterations: stop when neither f nor ||g|| moved.
  constexpr int window = 100;
  double f_mark = cur.f, gn2_mark = cur.gn2;
  for (int it = 0; it < opt.max_lbfgs_iterations; ++it) {
    if (cur.gn2 <= tol) return finish(cur, it, true);
    if (it > 0 && it % window == 0) {
      const bool stalled =
          cur.f > f_mark - 1e-15 * std::max(1.0, std::abs(f_mark)) && cur.gn2 > 0.5 * gn2_mark;
      if (stalled) return finish(cur, it, false);
      f_mark = cur.f, gn2_mark = cur.gn2;
    }
    // Two-loop recursion: dir = -H g with the inverse Hessian estimate H.
    Vec dir = -cur.g;
    alpha.assign(s_hist.size(), 0.0);
    for (std::size_t i = s_hist.size(); i-- > 0;) {
      alpha[i] = rho[i] * s_hist[i].dot(dir);
      dir -= alpha[i] * y_hist[i];
    }
    if (!s_hist.empty()) dir *= s_hist.back().dot(y_hist.back()) / y_hist.back().squaredNorm();
    for (std::size_t i = 0; i < s_hist.size(); ++i)
      dir += s_hist[i] * (alpha[i] - rho[i] * y_hist[i].dot(dir));
    if (cur.g.dot(dir) >= 0) {
      s_hist.clear(), y_hist.clear(), rho.clear();
      dir = -cur.g;
    }
    const double t0 = s_hist.empty() ? std::min(1.0, 1.0 / std::sqrt(cur.gn2)) : 1.0;
    std::optional<Point> next = line_search(fn, cur, dir, t0);
    if (!next) {
      if (s_hist.empty()) return finish(cur, it, false);
      s_hist.clear(), y_hist.clear(), rho.clear();  // retry from steepest descent
      continue;
    }
    Vec s = next->x - cur.x, y = next->g - cur.g;
    const double sy = s.dot(y);
    if (sy > 1e-300) {
      s_hist.push_back(std::move(s)), y_hist.push_back(std::move(y)), rho.push_back(1.0 / sy);
      if (int(s_hist.size()) > opt.lbfgs_memory)
        s_hist.pop_front(), y_hist.pop_front(), rho.pop_front();
    }
    cur = std::move(*next);
  }
  return finish(cur, opt.max_lbfgs_iterations, cur.gn2 <= tol);
}

}  // namespace

MinimizeResult minimize(const SmoothFunction& fn, std::vector<double> x0,
                        const MinimizeOptions& options) {
  Point start = evaluate(fn, Eigen::Map<const Vec>(x0.data(), Eigen::Index(x0.size())));
  const double tol = options.rel_grad_tol * std::max(start.gn2, 1.0);
  return fn.hessian ? newton(fn, std::move(start), tol, options)
                    : lbfgs(fn, std::move(start), tol, options);
}

}  // namespace herd::model
