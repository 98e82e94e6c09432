// report.html checked on the HTML itself: one point per epoch in every
// curve, one bar per landmark at the height the chart's scale gives, nothing
// that needs a network or a script, and text escaped. Its rendering in a real
// browser is the e2e entry e2e:report_html_renders_in_chromium.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

#include <mixtrain/app/report_html.hpp>

namespace app = mixtrain::app;
namespace io = mixtrain::io;
namespace fs = std::filesystem;

namespace {

struct temp_folder {
  fs::path path = fs::temp_directory_path() / ("mixtrain_report_" + std::to_string(::getpid()));
  temp_folder() { fs::create_directories(path); }
  ~temp_folder() { fs::remove_all(path); }
};

// 7 whole epochs and a torn 8th row (no newline: a run still appending).
const std::string landmark_csv =
    "epoch,train_loss,val_mre,val_sd,val_sdr_2mm,val_sdr_2_5mm,val_sdr_3mm,val_sdr_4mm,lr,images_per_s,"
    "data_wait_fraction,epoch_s\n"
    "1,0.040,9.0,6.0,0.10,0.15,0.20,0.30,1.0e-03,40.1,0.020,8.1\n"
    "2,0.030,7.0,5.0,0.20,0.25,0.30,0.40,9.5e-04,41.2,0.010,8.0\n"
    "3,0.020,5.0,4.0,0.30,0.35,0.40,0.50,8.5e-04,40.7,0.010,8.2\n"
    "4,0.015,4.0,3.0,0.40,0.45,0.50,0.60,7.0e-04,39.9,0.000,8.1\n"
    "5,0.012,3.0,2.5,0.50,0.55,0.60,0.70,5.0e-04,40.3,0.000,8.3\n"
    "6,0.010,2.5,2.0,0.55,0.60,0.65,0.75,3.0e-04,40.0,0.010,8.0\n"
    "7,0.009,2.2,1.8,0.60,0.65,0.70,0.80,1.5e-04,40.6,0.000,8.1\n"
    "8,0.008,2.1";

std::string write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// The markup of the chart whose data-chart is `id` (empty when absent).
std::string chart(const std::string& html, const std::string& id) {
  const auto start = html.find("data-chart=\"" + id + "\"");
  if (start == std::string::npos) return {};
  return html.substr(start, html.find("</svg>", start) - start);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// A numeric attribute of the first element matching `element_start`.
double attribute(const std::string& text, const std::string& element_start, const std::string& name) {
  const auto at = text.find(element_start);
  REQUIRE(at != std::string::npos);
  const auto end = text.find('>', at);
  std::smatch m;
  const std::string element = text.substr(at, end - at);
  REQUIRE(std::regex_search(element, m, std::regex(" " + name + "=\"([-0-9.eE]+)\"")));
  return std::stod(m[1]);
}

// The cy of every point, in order.
std::vector<double> point_heights(const std::string& svg) {
  std::vector<double> out;
  const std::regex point("<circle class=\"pt\" cx=\"[-0-9.]+\" cy=\"([-0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), point); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

nlohmann::json landmark(double mre, double sd) {
  return {{"mre_mm", mre}, {"sd_mm", sd}, {"sdr_2mm", 0.5}, {"sdr_2_5mm", 0.6}, {"sdr_3mm", 0.7}, {"sdr_4mm", 0.9},
          {"count", 10}};
}

app::report_inputs sample_inputs(const fs::path& folder) {
  app::report_inputs in;
  in.title = "run <1> & \"friends\"";
  in.metrics_csv = write_file(folder / "metrics.csv", landmark_csv);
  in.evaluation = {{"mre_mm", 1.4}, {"sd_mm", 0.8}, {"sdr_2mm", 0.7}, {"sdr_2_5mm", 0.8}, {"sdr_3mm", 0.85},
                   {"sdr_4mm", 0.95}, {"count", 30}, {"baseline_mre_mm", 12.0}, {"split", "valid"}};
  // Axis top 3 (S: 1.5 + 0.5 ... <B&>: 2.0 + 1.0), plot height 200 px.
  in.evaluation["per_landmark"] = {{"S", landmark(1.5, 0.5)}, {"N", landmark(0.75, 0.25)}, {"<B&>", landmark(2.0, 1.0)}};
  in.landmark_order = {"S", "N", "<B&>"};
  in.radial_errors_mm = {0.5, 1.0, 1.5, 2.2, 2.7, 3.5, 6.0};
  in.tables.push_back({"measurements", {"measurement", "value"}, {{"SNA <deg>", "82.0"}, {"ANB", "3 & more"}}});
  in.thumbnails.push_back({"worst <image>", "Man"});
  in.run_info = {{"command", "train --output_dir <x>"}};
  return in;
}

}  // namespace

TEST_CASE("base64 encoder matches hand encoded values [report]", "[report]") {
  CHECK(app::base64_encode("Man") == "TWFu");
  CHECK(app::base64_encode("Ma") == "TWE=");
  CHECK(app::base64_encode("M") == "TQ==");
  CHECK(app::base64_encode("") == "");
  CHECK(app::base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
  CHECK(app::base64_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("chart axes use round ticks [report]", "[report]") {
  const auto a = io::nice_axis(0, 3.0, 5);
  CHECK(a.lo == 0);
  CHECK(a.hi == Approx(3));
  CHECK(a.step == Approx(1));
  CHECK(a.ticks().size() == 4);
  const auto b = io::nice_axis(0.0037, 0.041, 4);
  CHECK(b.step == Approx(0.01));
  CHECK(b.lo == Approx(0));
  CHECK(b.hi == Approx(0.05));
  CHECK(io::tick_label(0.03, 0.01) == "0.03");
  CHECK(io::tick_label(20, 5) == "20");
  CHECK(io::tick_label(2.5, 0.5) == "2.5");
  const auto single = io::nice_axis(4, 4, 5);  // one value: widened around it
  CHECK(single.lo < 4);
  CHECK(single.hi > 4);
  const auto epochs = io::nice_axis(1, 7, 6, 1);  // whole-number steps only
  CHECK(epochs.step == Approx(1));
}

TEST_CASE("metrics csv reader keeps whole rows of any task's columns [report]", "[report]") {
  const auto log = io::parse_metrics_csv(
      "epoch,train_loss,val_accuracy,val_balanced_accuracy,val_cross_entropy,lr,images_per_s,data_wait_fraction,epoch_s\n"
      "1,0.9,0.5,0.4,1.1,1e-3,30,0.01,5\n"
      "2,0.7,0.6,0.5,0.9\n"  // wrong field count: left out
      "3,0.5,0.7,0.6,0.8,1e-3,31,0.02,5\n"
      "4,0.4,0.8");          // torn
  REQUIRE(log.columns.size() == 9);
  CHECK(log.columns[2] == "val_accuracy");
  REQUIRE(log.rows() == 2);
  CHECK(log.values[0][1] == 3);
  CHECK(log.values[2][1] == Approx(0.7));
  CHECK(io::read_metrics_csv("/no/such/metrics.csv").rows() == 0);
}

TEST_CASE("report html has one point per epoch in every curve [report]", "[report]") {
  temp_folder tmp;
  const auto html = app::render_report_html(sample_inputs(tmp.path));
  for (const std::string column : {"train_loss", "val_mre", "val_sd", "val_sdr_2mm", "val_sdr_2_5mm", "val_sdr_3mm",
                                   "val_sdr_4mm", "lr", "images_per_s", "data_wait_fraction", "epoch_s"}) {
    INFO(column);
    const auto svg = chart(html, column);
    REQUIRE(!svg.empty());
    CHECK(count(svg, "<circle class=\"pt\"") == 7);  // the torn 8th row is not drawn
  }
  // SDR as % on a 0..100 axis: 0.5 at epoch 5 sits halfway down the plot
  // (top margin 30, plot height 230 - 30 - 42 = 158).
  const auto points = point_heights(chart(html, "val_sdr_2mm"));
  REQUIRE(points.size() == 7);
  CHECK(points[4] == Approx(30 + 158 * 0.5).margin(0.01));
  CHECK(points[0] == Approx(30 + 158 * 0.9).margin(0.01));

  // A class task's columns chart the same way.
  app::report_inputs classes;
  classes.metrics_csv = write_file(tmp.path / "classes.csv",
                                   "epoch,train_loss,val_accuracy,val_balanced_accuracy,lr,images_per_s,data_wait_fraction,epoch_s\n"
                                   "1,0.9,0.5,0.4,1e-3,30,0.01,5\n2,0.7,0.6,0.5,1e-3,30,0.01,5\n3,0.5,0.7,0.6,1e-3,31,0.02,5\n");
  const auto class_html = app::render_report_html(classes);
  CHECK(count(chart(class_html, "val_accuracy"), "<circle class=\"pt\"") == 3);
  CHECK(count(chart(class_html, "val_balanced_accuracy"), "<circle class=\"pt\"") == 3);
}

TEST_CASE("report html bars are proportional to the per landmark MRE [report]", "[report]") {
  temp_folder tmp;
  const auto html = app::render_report_html(sample_inputs(tmp.path));
  const auto svg = chart(html, "per_landmark_mre");
  REQUIRE(count(svg, "<rect class=\"bar\"") == 3);
  // Axis 0..3 mm over 200 px, bars from the plot bottom at y = 230.
  const std::pair<std::string, double> expected[] = {{"S", 100.0}, {"N", 50.0}, {"&lt;B&amp;&gt;", 133.333}};
  for (const auto& [name, height] : expected) {
    INFO(name);
    const std::string start = "<rect class=\"bar\" data-label=\"" + name + "\"";
    CHECK(attribute(svg, start, "height") == Approx(height).margin(0.01));
    CHECK(attribute(svg, start, "y") == Approx(230 - height).margin(0.01));
  }
  // In landmark order, not alphabetical.
  CHECK(svg.find("data-label=\"S\"") < svg.find("data-label=\"N\""));
  CHECK(count(svg, "class=\"whisker\"") == 3);
  CHECK(count(chart(html, "cumulative_sdr"), "class=\"line\"") == 1);
}

TEST_CASE("report html is self contained and escapes text [report]", "[report]") {
  temp_folder tmp;
  const auto html = app::render_report_html(sample_inputs(tmp.path));
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<1>") == std::string::npos);
  CHECK(html.find("<title>run &lt;1&gt; &amp; &quot;friends&quot;</title>") != std::string::npos);
  CHECK(html.find("SNA &lt;deg&gt;") != std::string::npos);
  CHECK(html.find("3 &amp; more") != std::string::npos);
  CHECK(html.find("train --output_dir &lt;x&gt;") != std::string::npos);
  CHECK(html.find("<img src=\"data:image/png;base64,TWFu\" alt=\"worst &lt;image&gt;\">") != std::string::npos);
  CHECK(html.find("<B&>") == std::string::npos);
}

TEST_CASE("report html without metrics csv or evaluation still renders [report]", "[report]") {
  app::report_inputs in;
  in.metrics_csv = "/no/such/folder/metrics.csv";
  const auto html = app::render_report_html(in);
  CHECK(html.find("No training curves") != std::string::npos);
  CHECK(html.find("No evaluation results") != std::string::npos);
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(count(html, "<svg") == 0);
}

TEST_CASE("write report html writes the whole file and no partial one [report]", "[report]") {
  temp_folder tmp;
  const auto in = sample_inputs(tmp.path);
  const auto path = tmp.path / "out" / "report.html";
  app::write_report_html(path, in);
  std::ifstream file(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK(text == app::render_report_html(in));
  CHECK_FALSE(fs::exists(path.string() + ".partial"));
}
