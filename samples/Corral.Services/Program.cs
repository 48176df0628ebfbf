// The services sample: client -> orders (gRPC) -> inventory (HTTP) -> pricing (gRPC), three processes on loopback.
//
//   dotnet run --project samples/Corral.Services                    the three scenes, then exit (0 when all behaved)
//   dotnet run --project samples/Corral.Services -- --stuck-seconds 120
//                                                                   hold the stuck hop for two minutes, to run
//                                                                   `dotnet run --project tools/corral -- tree PID` on it
//
// The same program runs each service when started with --role (the driver does that itself).
using Corral.Services;

return args.Length >= 2 && args[0] == "--role"
    ? await Roles.RunAsync(args[1], args[2..])
    : await Driver.RunAsync(args);
