// The namespaces every stage of the generator reads (the pipeline's typed values and its diagnostics), once for the
// project instead of at the head of each file.
global using System.Collections.Generic;
global using System.Linq;
global using Dl.Generators.Diagnostics;
global using Dl.Generators.Emit;
global using Dl.Generators.Helpers;
global using Dl.Generators.Lowering;
global using Dl.Generators.Model;
global using Dl.Generators.Parsing;
global using LayerCall = Dl.Generators.Parsing.GraphBuilder.LayerCall;
global using Microsoft.CodeAnalysis;
global using Microsoft.CodeAnalysis.CSharp;
global using Microsoft.CodeAnalysis.CSharp.Syntax;
global using static Dl.Generators.Diagnostics.DiagnosticDescriptors;
