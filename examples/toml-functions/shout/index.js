// A directory function: the host's builders plan it (here the finder zips it).
function main(args) {
  return { body: String(args.text || "").toUpperCase() };
}

exports.main = main;
