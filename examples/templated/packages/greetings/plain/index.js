// An ordinary function next to the templated ones: the built-in finder deploys it.
function main() {
  return { body: "plain" };
}

exports.main = main;
