function main(args) {
  return { body: args.greeting + " " + (args.text || "") };
}

exports.main = main;
