// A directory function: the host's builders plan it (here the built-in finder takes its one file).
function main(args) {
  return { body: String(args.text || "").toUpperCase() };
}

exports.main = main;
