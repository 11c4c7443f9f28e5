# cmake-format (Debian's cmake-format) settings; scripts/check_format.sh
# checks every CMakeLists.txt and *.cmake file with them.
with section("format"):
  line_width = 80
  tab_size = 2
  dangle_parens = False
with section("markup"):
  # Comments are prose written by hand: leave their line breaks alone.
  enable_markup = False
