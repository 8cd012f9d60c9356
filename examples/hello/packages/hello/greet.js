// Returns a greeting for the `name` parameter.
function main(args) {
  const name = args.name || 'stranger';
  return { body: `Hello ${name}!` };
}

exports.main = main;
