"""AWS building blocks: Cognito and SigV4 auth, discovery, CloudWatch, cost, Bedrock.

Import-light on purpose: importing ``loadgen.edge.aws`` (or its ``config``) loads no boto code,
so a profile without AWS sections never pays for aioboto3. Import the submodules you need:
``config`` (pure profile sections), ``cognito``, ``sigv4``, ``discover``, ``cloudwatch``,
``cost`` (pure), ``bedrock``, ``cli`` (``loadgen aws ...``). Every AWS call goes through one
shared client per service (``clients.AwsClients``) with a large pool and a single attempt.
"""
