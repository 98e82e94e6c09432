// Writes a sample report.html (with the metrics.csv it reads) into the folder
// given, from made-up but plausible numbers: 12 epochs, 29 landmarks, a
// measurements table and four thumbnails. check_report_html.sh then opens it
// in Chromium; no training run or dataset is needed.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/app/report_html.hpp>
#include <mixtrain/metric/landmark_metrics.hpp>

namespace app = mixtrain::app;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output folder>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);

  // metrics.csv: a decaying loss and error, rising SDR, a cosine learning rate.
  const int epochs = 12;
  std::string csv = "epoch,train_loss,val_mre,val_sd,val_sdr_2mm,val_sdr_2_5mm,val_sdr_3mm,val_sdr_4mm,lr,images_per_s,"
                    "data_wait_fraction,epoch_s\n";
  for (int e = 1; e <= epochs; ++e) {
    const double t = e / static_cast<double>(epochs), mre = 1.8 + 12 * std::exp(-4 * t);
    const auto sdr = [&](double mm) { return 1 - std::exp(-mm * mm / (mre * mre)); };
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6e},{:.3f},{:.4f},{:.3f}\n", e,
                       0.04 * std::exp(-3 * t) + 0.002, mre, 0.7 * mre, sdr(2), sdr(2.5), sdr(3), sdr(4),
                       1e-3 * 0.5 * (1 + std::cos(M_PI * (e - 1) / epochs)), 40 + 3 * std::sin(e), 0.02 + 0.01 * (e % 3),
                       8.0 + 0.2 * (e % 4));
  }
  const auto metrics_csv = folder / "metrics.csv";
  std::ofstream(metrics_csv) << csv;

  // Errors for 29 landmarks on 30 images, each landmark with its own scale.
  const std::vector<std::string> symbols = {"A",   "ANS", "B",  "Me", "N",   "Or",  "Pog", "PNS", "Pn", "R",
                                            "S",   "Ar",  "Co", "Gn", "Go",  "Po",  "LPM", "LIT", "UIT", "UPM",
                                            "LIA", "UIA", "LMT", "UMT", "LL", "UL", "Sn", "STPog", "Soft-N"};
  std::mt19937 random(7);
  std::vector<double> all;
  auto evaluation = nlohmann::json::object();
  auto per = nlohmann::json::object();
  for (std::size_t k = 0; k < symbols.size(); ++k) {
    std::gamma_distribution<double> error(2.0, 0.5 + 0.08 * static_cast<double>(k % 11));
    std::vector<double> errors;
    for (int i = 0; i < 30; ++i) errors.push_back(error(random));
    all.insert(all.end(), errors.begin(), errors.end());
    per[symbols[k]] = mixtrain::metric::to_json(mixtrain::metric::summarize(errors));
  }
  evaluation = mixtrain::metric::to_json(mixtrain::metric::summarize(all));
  evaluation["split"] = "valid";
  evaluation["baseline_mre_mm"] = 14.2;
  evaluation["per_landmark"] = per;

  app::report_inputs in;
  in.title = "sample report <demo & check>";
  in.metrics_csv = metrics_csv;
  in.evaluation = evaluation;
  in.landmark_order = symbols;
  in.radial_errors_mm = all;
  in.tables.push_back({"measurements", {"measurement", "truth", "predicted", "difference"},
                       {{"SNA", "82.1\xC2\xB0", "81.4\xC2\xB0", "-0.7\xC2\xB0"}, {"SNB", "79.0\xC2\xB0", "79.6\xC2\xB0", "0.6\xC2\xB0"},
                        {"ANB", "3.1\xC2\xB0", "1.8\xC2\xB0", "-1.3\xC2\xB0"}}});
  for (int i = 0; i < 4; ++i) {  // grey "X-rays" with a few marked points
    cv::Mat image(160, 200, CV_8UC3, cv::Scalar(40 + 10 * i, 40 + 10 * i, 40 + 10 * i));
    cv::circle(image, {100, 80}, 50, cv::Scalar(170, 170, 170), -1);
    for (int p = 0; p < 5; ++p) cv::circle(image, {50 + 25 * p, 60 + 10 * (p % 2)}, 3, cv::Scalar(0, 0, 255), -1);
    std::vector<unsigned char> png;
    cv::imencode(".png", image, png);
    in.thumbnails.push_back({fmt::format("image_{:03d}: MRE {:.2f} mm", i + 1, 6.0 - i), std::string(png.begin(), png.end())});
  }
  in.run_info = {{"command", "write_sample_report"}, {"output_dir", folder.string()}};
  app::write_report_html(folder / "report.html", in);
  std::printf("%s\n", (folder / "report.html").c_str());
  return 0;
}
