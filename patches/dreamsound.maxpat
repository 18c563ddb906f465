{
 "patcher": {
  "fileversion": 1,
  "appversion": {
   "major": 8,
   "minor": 5,
   "revision": 6,
   "architecture": "x64",
   "modernui": 1
  },
  "classnamespace": "box",
  "rect": [
   60.0,
   80.0,
   1220.0,
   900.0
  ],
  "bglocked": 0,
  "openinpresentation": 1,
  "default_fontsize": 12.0,
  "default_fontface": 0,
  "default_fontname": "Arial",
  "gridonopen": 1,
  "gridsize": [
   15.0,
   15.0
  ],
  "gridsnaponopen": 1,
  "toolbarvisible": 1,
  "boxanimatetime": 200,
  "description": "DreamSound Live control panel (OSC to 127.0.0.1:9000, replies on 9001)",
  "boxes": [
   {
    "box": {
     "id": "obj-1",
     "maxclass": "panel",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      10.0,
      10.0,
      700.0,
      530.0
     ],
     "presentation": 1,
     "presentation_rect": [
      10.0,
      10.0,
      700.0,
      530.0
     ],
     "bgcolor": [
      0.91,
      0.91,
      0.91,
      1.0
     ],
     "rounded": 4
    }
   },
   {
    "box": {
     "id": "obj-2",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      16.0,
      200.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      16.0,
      200.0,
      20.0
     ],
     "text": "DreamSound Live",
     "fontsize": 16.0,
     "fontface": 1
    }
   },
   {
    "box": {
     "id": "obj-3",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      220.0,
      20.0,
      400.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      220.0,
      20.0,
      400.0,
      20.0
     ],
     "text": "OSC to the instrument on port 9000, replies and status on 9001"
    }
   },
   {
    "box": {
     "id": "obj-4",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      565.0,
      360.0,
      20.0
     ],
     "text": "widgets -> [prepend /dream/ADDRESS] -> [udpsend]"
    }
   },
   {
    "box": {
     "id": "obj-5",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      928.0,
      156.8,
      22.0
     ],
     "text": "udpsend 127.0.0.1 9000"
    }
   },
   {
    "box": {
     "id": "obj-6",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      380.0,
      50.0,
      110.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      380.0,
      50.0,
      110.0,
      20.0
     ],
     "text": "destination"
    }
   },
   {
    "box": {
     "id": "obj-7",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      470.0,
      50.0,
      112.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      470.0,
      50.0,
      112.0,
      22.0
     ],
     "text": "host 127.0.0.1"
    }
   },
   {
    "box": {
     "id": "obj-8",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      590.0,
      50.0,
      77.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      590.0,
      50.0,
      77.0,
      22.0
     ],
     "text": "port 9000"
    }
   },
   {
    "box": {
     "id": "obj-9",
     "maxclass": "button",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      20.0,
      50.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      50.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-10",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      44.0,
      50.0,
      200.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      44.0,
      50.0,
      200.0,
      20.0
     ],
     "text": "get every value (also on load)"
    }
   },
   {
    "box": {
     "id": "obj-11",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      20.0,
      600.0,
      67.2,
      22.0
     ],
     "text": "loadbang"
    }
   },
   {
    "box": {
     "id": "obj-12",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      628.0,
      84.0,
      22.0
     ],
     "text": "/dream/get"
    }
   },
   {
    "box": {
     "id": "obj-13",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      20.0,
      656.0,
      86.4,
      22.0
     ],
     "text": "delay 20000"
    }
   },
   {
    "box": {
     "id": "obj-14",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      20.0,
      684.0,
      86.4,
      22.0
     ],
     "text": "metro 20000"
    }
   },
   {
    "box": {
     "id": "obj-15",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      712.0,
      91.0,
      22.0
     ],
     "text": "/dream/ping"
    }
   },
   {
    "box": {
     "id": "obj-16",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      90.0,
      90.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      90.0,
      90.0,
      20.0
     ],
     "text": "mode"
    }
   },
   {
    "box": {
     "id": "obj-17",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "outlettype": [
      "int",
      "",
      ""
     ],
     "patching_rect": [
      120.0,
      90.0,
      150.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      90.0,
      150.0,
      22.0
     ],
     "items": [
      "gradients",
      ",",
      "deepdream",
      ",",
      "filter",
      ",",
      "filter_add",
      ",",
      "target"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-18",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      740.0,
      137.60000000000002,
      22.0
     ],
     "text": "prepend /dream/mode"
    }
   },
   {
    "box": {
     "id": "obj-19",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      116.0,
      90.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      116.0,
      90.0,
      20.0
     ],
     "text": "layer"
    }
   },
   {
    "box": {
     "id": "obj-20",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "outlettype": [
      "int",
      "",
      ""
     ],
     "patching_rect": [
      120.0,
      116.0,
      150.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      116.0,
      150.0,
      22.0
     ],
     "items": [
      "layer1",
      ",",
      "layer2/depthwise",
      ",",
      "layer2",
      ",",
      "layer3/depthwise",
      ",",
      "layer3",
      ",",
      "layer4/depthwise",
      ",",
      "layer4",
      ",",
      "layer5/depthwise",
      ",",
      "layer5",
      ",",
      "layer6/depthwise",
      ",",
      "layer6",
      ",",
      "layer7/depthwise",
      ",",
      "layer7",
      ",",
      "layer8/depthwise",
      ",",
      "layer8",
      ",",
      "layer9/depthwise",
      ",",
      "layer9",
      ",",
      "layer10/depthwise",
      ",",
      "layer10",
      ",",
      "layer11/depthwise",
      ",",
      "layer11",
      ",",
      "layer12/depthwise",
      ",",
      "layer12",
      ",",
      "layer13/depthwise",
      ",",
      "layer13",
      ",",
      "layer14/depthwise",
      ",",
      "layer14",
      ",",
      "embeddings",
      ",",
      "logits",
      ",",
      "scores"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-21",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      768.0,
      144.0,
      22.0
     ],
     "text": "prepend /dream/layer"
    }
   },
   {
    "box": {
     "id": "obj-22",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      142.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      142.0,
      95.0,
      20.0
     ],
     "text": "threshold"
    }
   },
   {
    "box": {
     "id": "obj-23",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      120.0,
      142.0,
      150.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      142.0,
      150.0,
      20.0
     ],
     "floatoutput": 1,
     "min": 0.0,
     "size": 1.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-24",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      280.0,
      142.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      280.0,
      142.0,
      60.0,
      22.0
     ],
     "format": 6,
     "minimum": 0.0,
     "maximum": 1.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-25",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      796.0,
      169.60000000000002,
      22.0
     ],
     "text": "prepend /dream/threshold"
    }
   },
   {
    "box": {
     "id": "obj-26",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      824.0,
      169.60000000000002,
      22.0
     ],
     "text": "prepend /dream/threshold"
    }
   },
   {
    "box": {
     "id": "obj-27",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      168.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      168.0,
      95.0,
      20.0
     ],
     "text": "mix (dry/wet)"
    }
   },
   {
    "box": {
     "id": "obj-28",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      120.0,
      168.0,
      150.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      168.0,
      150.0,
      20.0
     ],
     "floatoutput": 1,
     "min": 0.0,
     "size": 1.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-29",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      280.0,
      168.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      280.0,
      168.0,
      60.0,
      22.0
     ],
     "format": 6,
     "minimum": 0.0,
     "maximum": 1.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-30",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      852.0,
      131.2,
      22.0
     ],
     "text": "prepend /dream/mix"
    }
   },
   {
    "box": {
     "id": "obj-31",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      20.0,
      880.0,
      131.2,
      22.0
     ],
     "text": "prepend /dream/mix"
    }
   },
   {
    "box": {
     "id": "obj-32",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      194.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      194.0,
      95.0,
      20.0
     ],
     "text": "gain dB"
    }
   },
   {
    "box": {
     "id": "obj-33",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      120.0,
      194.0,
      150.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      194.0,
      150.0,
      20.0
     ],
     "floatoutput": 1,
     "min": -60.0,
     "size": 84.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-34",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      280.0,
      194.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      280.0,
      194.0,
      60.0,
      22.0
     ],
     "format": 6,
     "minimum": -60.0,
     "maximum": 24.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-35",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      600.0,
      137.60000000000002,
      22.0
     ],
     "text": "prepend /dream/gain"
    }
   },
   {
    "box": {
     "id": "obj-36",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      628.0,
      137.60000000000002,
      22.0
     ],
     "text": "prepend /dream/gain"
    }
   },
   {
    "box": {
     "id": "obj-37",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      220.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      220.0,
      95.0,
      20.0
     ],
     "text": "ceiling dBFS"
    }
   },
   {
    "box": {
     "id": "obj-38",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      120.0,
      220.0,
      150.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      220.0,
      150.0,
      20.0
     ],
     "floatoutput": 1,
     "min": -40.0,
     "size": 40.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-39",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      280.0,
      220.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      280.0,
      220.0,
      60.0,
      22.0
     ],
     "format": 6,
     "minimum": -40.0,
     "maximum": 0.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-40",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      656.0,
      156.8,
      22.0
     ],
     "text": "prepend /dream/ceiling"
    }
   },
   {
    "box": {
     "id": "obj-41",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      684.0,
      156.8,
      22.0
     ],
     "text": "prepend /dream/ceiling"
    }
   },
   {
    "box": {
     "id": "obj-42",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      246.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      246.0,
      95.0,
      20.0
     ],
     "text": "step"
    }
   },
   {
    "box": {
     "id": "obj-43",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      120.0,
      246.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      246.0,
      70.0,
      22.0
     ],
     "minimum": 0.0,
     "maximum": 100.0,
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-44",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      712.0,
      137.60000000000002,
      22.0
     ],
     "text": "prepend /dream/step"
    }
   },
   {
    "box": {
     "id": "obj-45",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      272.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      272.0,
      95.0,
      20.0
     ],
     "text": "power"
    }
   },
   {
    "box": {
     "id": "obj-46",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      120.0,
      272.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      272.0,
      70.0,
      22.0
     ],
     "minimum": 0.001,
     "maximum": 4.0,
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-47",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      740.0,
      144.0,
      22.0
     ],
     "text": "prepend /dream/power"
    }
   },
   {
    "box": {
     "id": "obj-48",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      298.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      298.0,
      95.0,
      20.0
     ],
     "text": "iterations"
    }
   },
   {
    "box": {
     "id": "obj-49",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      120.0,
      298.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      298.0,
      70.0,
      22.0
     ],
     "minimum": 0,
     "maximum": 10000,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-50",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      768.0,
      176.0,
      22.0
     ],
     "text": "prepend /dream/iterations"
    }
   },
   {
    "box": {
     "id": "obj-51",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      324.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      324.0,
      95.0,
      20.0
     ],
     "text": "target class"
    }
   },
   {
    "box": {
     "id": "obj-52",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      120.0,
      324.0,
      50.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      324.0,
      50.0,
      22.0
     ],
     "minimum": -1,
     "maximum": 520,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-53",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      796.0,
      150.4,
      22.0
     ],
     "text": "prepend /dream/target"
    }
   },
   {
    "box": {
     "id": "obj-54",
     "maxclass": "textedit",
     "numinlets": 1,
     "numoutlets": 4,
     "outlettype": [
      "",
      "int",
      "",
      ""
     ],
     "patching_rect": [
      176.0,
      324.0,
      164.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      176.0,
      324.0,
      164.0,
      22.0
     ],
     "keymode": 1,
     "lines": 1,
     "text": "auto",
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-55",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "outlettype": [
      "",
      ""
     ],
     "patching_rect": [
      200.0,
      824.0,
      80.0,
      22.0
     ],
     "text": "route text"
    }
   },
   {
    "box": {
     "id": "obj-56",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      852.0,
      67.2,
      22.0
     ],
     "text": "tosymbol"
    }
   },
   {
    "box": {
     "id": "obj-57",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200.0,
      880.0,
      150.4,
      22.0
     ],
     "text": "prepend /dream/target"
    }
   },
   {
    "box": {
     "id": "obj-58",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      350.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      350.0,
      95.0,
      20.0
     ],
     "text": "target sound"
    }
   },
   {
    "box": {
     "id": "obj-59",
     "maxclass": "textedit",
     "numinlets": 1,
     "numoutlets": 4,
     "outlettype": [
      "",
      "int",
      "",
      ""
     ],
     "patching_rect": [
      120.0,
      350.0,
      220.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      350.0,
      220.0,
      22.0
     ],
     "keymode": 1,
     "lines": 1,
     "text": "none",
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-60",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "outlettype": [
      "",
      ""
     ],
     "patching_rect": [
      380.0,
      600.0,
      80.0,
      22.0
     ],
     "text": "route text"
    }
   },
   {
    "box": {
     "id": "obj-61",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      628.0,
      67.2,
      22.0
     ],
     "text": "tosymbol"
    }
   },
   {
    "box": {
     "id": "obj-62",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      656.0,
      188.8,
      22.0
     ],
     "text": "prepend /dream/target_sound"
    }
   },
   {
    "box": {
     "id": "obj-63",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      376.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      376.0,
      95.0,
      20.0
     ],
     "text": "capture"
    }
   },
   {
    "box": {
     "id": "obj-64",
     "maxclass": "button",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      120.0,
      376.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      376.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-65",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      150.0,
      376.0,
      50.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      150.0,
      376.0,
      50.0,
      22.0
     ],
     "format": 6,
     "minimum": 0.1,
     "maximum": 10.0,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-66",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      204.0,
      376.0,
      60.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      204.0,
      376.0,
      60.0,
      20.0
     ],
     "text": "seconds"
    }
   },
   {
    "box": {
     "id": "obj-67",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "float"
     ],
     "patching_rect": [
      380.0,
      684.0,
      41.6,
      22.0
     ],
     "text": "f 2."
    }
   },
   {
    "box": {
     "id": "obj-68",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      712.0,
      240.0,
      22.0
     ],
     "text": "prepend /dream/target_sound/capture"
    }
   },
   {
    "box": {
     "id": "obj-69",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      402.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      402.0,
      95.0,
      20.0
     ],
     "text": "switches"
    }
   },
   {
    "box": {
     "id": "obj-70",
     "maxclass": "toggle",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "int"
     ],
     "patching_rect": [
      120.0,
      402.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      402.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-71",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      144.0,
      402.0,
      50.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      144.0,
      402.0,
      50.0,
      20.0
     ],
     "text": "flip"
    }
   },
   {
    "box": {
     "id": "obj-72",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      740.0,
      137.60000000000002,
      22.0
     ],
     "text": "prepend /dream/flip"
    }
   },
   {
    "box": {
     "id": "obj-73",
     "maxclass": "toggle",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "int"
     ],
     "patching_rect": [
      195.0,
      402.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      195.0,
      402.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-74",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      219.0,
      402.0,
      50.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      219.0,
      402.0,
      50.0,
      20.0
     ],
     "text": "freeze"
    }
   },
   {
    "box": {
     "id": "obj-75",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      768.0,
      150.4,
      22.0
     ],
     "text": "prepend /dream/freeze"
    }
   },
   {
    "box": {
     "id": "obj-76",
     "maxclass": "toggle",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "int"
     ],
     "patching_rect": [
      270.0,
      402.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      270.0,
      402.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-77",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      294.0,
      402.0,
      50.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      294.0,
      402.0,
      50.0,
      20.0
     ],
     "text": "record"
    }
   },
   {
    "box": {
     "id": "obj-78",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      796.0,
      150.4,
      22.0
     ],
     "text": "prepend /dream/record"
    }
   },
   {
    "box": {
     "id": "obj-79",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      428.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      428.0,
      95.0,
      20.0
     ],
     "text": "preset"
    }
   },
   {
    "box": {
     "id": "obj-80",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      120.0,
      428.0,
      50.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      428.0,
      50.0,
      22.0
     ],
     "minimum": 0,
     "maximum": 127,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-81",
     "maxclass": "button",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      180.0,
      428.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      180.0,
      428.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-82",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      204.0,
      428.0,
      40.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      204.0,
      428.0,
      40.0,
      20.0
     ],
     "text": "save"
    }
   },
   {
    "box": {
     "id": "obj-83",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "int"
     ],
     "patching_rect": [
      380.0,
      824.0,
      40.0,
      22.0
     ],
     "text": "i"
    }
   },
   {
    "box": {
     "id": "obj-84",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      380.0,
      852.0,
      182.4,
      22.0
     ],
     "text": "prepend /dream/preset/save"
    }
   },
   {
    "box": {
     "id": "obj-85",
     "maxclass": "button",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      250.0,
      428.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      250.0,
      428.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-86",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      274.0,
      428.0,
      40.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      274.0,
      428.0,
      40.0,
      20.0
     ],
     "text": "load"
    }
   },
   {
    "box": {
     "id": "obj-87",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "int"
     ],
     "patching_rect": [
      380.0,
      880.0,
      40.0,
      22.0
     ],
     "text": "i"
    }
   },
   {
    "box": {
     "id": "obj-88",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      560.0,
      600.0,
      182.4,
      22.0
     ],
     "text": "prepend /dream/preset/load"
    }
   },
   {
    "box": {
     "id": "obj-89",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      454.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      454.0,
      95.0,
      20.0
     ],
     "text": "find classes"
    }
   },
   {
    "box": {
     "id": "obj-90",
     "maxclass": "textedit",
     "numinlets": 1,
     "numoutlets": 4,
     "outlettype": [
      "",
      "int",
      "",
      ""
     ],
     "patching_rect": [
      120.0,
      454.0,
      120.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      454.0,
      120.0,
      22.0
     ],
     "keymode": 1,
     "lines": 1,
     "text": "",
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-91",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "outlettype": [
      "",
      ""
     ],
     "patching_rect": [
      560.0,
      628.0,
      80.0,
      22.0
     ],
     "text": "route text"
    }
   },
   {
    "box": {
     "id": "obj-92",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      560.0,
      656.0,
      67.2,
      22.0
     ],
     "text": "tosymbol"
    }
   },
   {
    "box": {
     "id": "obj-93",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      560.0,
      684.0,
      156.8,
      22.0
     ],
     "text": "prepend /dream/classes"
    }
   },
   {
    "box": {
     "id": "obj-94",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      246.0,
      454.0,
      50.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      246.0,
      454.0,
      50.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-95",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      300.0,
      454.0,
      50.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      300.0,
      454.0,
      50.0,
      20.0
     ],
     "text": "found"
    }
   },
   {
    "box": {
     "id": "obj-96",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      480.0,
      95.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      20.0,
      480.0,
      95.0,
      20.0
     ],
     "text": "matches"
    }
   },
   {
    "box": {
     "id": "obj-97",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "outlettype": [
      "int",
      "",
      ""
     ],
     "patching_rect": [
      120.0,
      480.0,
      220.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      480.0,
      220.0,
      22.0
     ],
     "items": [],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-98",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      120.0,
      504.0,
      220.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      120.0,
      504.0,
      220.0,
      20.0
     ],
     "text": "pick one to make it the target",
     "fontsize": 10.0
    }
   },
   {
    "box": {
     "id": "obj-99",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      560.0,
      712.0,
      67.2,
      22.0
     ],
     "text": "tosymbol"
    }
   },
   {
    "box": {
     "id": "obj-100",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      560.0,
      740.0,
      150.4,
      22.0
     ],
     "text": "prepend /dream/target"
    }
   },
   {
    "box": {
     "id": "obj-101",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      90.0,
      100.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      90.0,
      100.0,
      20.0
     ],
     "text": "input class"
    }
   },
   {
    "box": {
     "id": "obj-102",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      90.0,
      50.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      90.0,
      50.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-103",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      536.0,
      90.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      536.0,
      90.0,
      60.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-104",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      600.0,
      90.0,
      50.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      600.0,
      90.0,
      50.0,
      20.0
     ],
     "text": "score"
    }
   },
   {
    "box": {
     "id": "obj-105",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      480.0,
      116.0,
      220.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      116.0,
      220.0,
      22.0
     ],
     "text": "-"
    }
   },
   {
    "box": {
     "id": "obj-106",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      142.0,
      100.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      142.0,
      100.0,
      20.0
     ],
     "text": "output class"
    }
   },
   {
    "box": {
     "id": "obj-107",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      142.0,
      50.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      142.0,
      50.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-108",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      536.0,
      142.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      536.0,
      142.0,
      60.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-109",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      600.0,
      142.0,
      50.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      600.0,
      142.0,
      50.0,
      20.0
     ],
     "text": "score"
    }
   },
   {
    "box": {
     "id": "obj-110",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      480.0,
      168.0,
      220.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      168.0,
      220.0,
      22.0
     ],
     "text": "-"
    }
   },
   {
    "box": {
     "id": "obj-111",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      194.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      194.0,
      105.0,
      20.0
     ],
     "text": "level in/out dB"
    }
   },
   {
    "box": {
     "id": "obj-112",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      194.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      194.0,
      60.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-113",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      546.0,
      194.0,
      60.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      546.0,
      194.0,
      60.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-114",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      220.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      220.0,
      105.0,
      20.0
     ],
     "text": "iterations/s"
    }
   },
   {
    "box": {
     "id": "obj-115",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      220.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      220.0,
      70.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-116",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      246.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      246.0,
      105.0,
      20.0
     ],
     "text": "iters/window"
    }
   },
   {
    "box": {
     "id": "obj-117",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      246.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      246.0,
      70.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-118",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      272.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      272.0,
      105.0,
      20.0
     ],
     "text": "iters/sample"
    }
   },
   {
    "box": {
     "id": "obj-119",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      272.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      272.0,
      70.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-120",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      298.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      298.0,
      105.0,
      20.0
     ],
     "text": "latency ms"
    }
   },
   {
    "box": {
     "id": "obj-121",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      298.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      298.0,
      70.0,
      22.0
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-122",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      324.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      324.0,
      105.0,
      20.0
     ],
     "text": "xruns"
    }
   },
   {
    "box": {
     "id": "obj-123",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      324.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      324.0,
      70.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-124",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      350.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      350.0,
      105.0,
      20.0
     ],
     "text": "dropped packets"
    }
   },
   {
    "box": {
     "id": "obj-125",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "",
      "bang"
     ],
     "patching_rect": [
      480.0,
      350.0,
      70.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      350.0,
      70.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-126",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      376.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      376.0,
      105.0,
      20.0
     ],
     "text": "recording"
    }
   },
   {
    "box": {
     "id": "obj-127",
     "maxclass": "toggle",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      "int"
     ],
     "patching_rect": [
      480.0,
      376.0,
      22.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      376.0,
      22.0,
      22.0
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-128",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      520.0,
      376.0,
      120.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      520.0,
      376.0,
      120.0,
      22.0
     ],
     "text": "-"
    }
   },
   {
    "box": {
     "id": "obj-129",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      402.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      402.0,
      105.0,
      20.0
     ],
     "text": "preset"
    }
   },
   {
    "box": {
     "id": "obj-130",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      480.0,
      402.0,
      220.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      480.0,
      402.0,
      220.0,
      22.0
     ],
     "text": "-"
    }
   },
   {
    "box": {
     "id": "obj-131",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      370.0,
      428.0,
      105.0,
      20.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      428.0,
      105.0,
      20.0
     ],
     "text": "last error"
    }
   },
   {
    "box": {
     "id": "obj-132",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      370.0,
      452.0,
      330.0,
      22.0
     ],
     "presentation": 1,
     "presentation_rect": [
      370.0,
      452.0,
      330.0,
      22.0
     ],
     "text": "-"
    }
   },
   {
    "box": {
     "id": "obj-133",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      740.0,
      10.0,
      520.0,
      20.0
     ],
     "text": "[udpreceive 9001] -> [route /dream/...] -> [prepend set] -> widgets (set: no output)"
    }
   },
   {
    "box": {
     "id": "obj-134",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      740.0,
      36.0,
      112.0,
      22.0
     ],
     "text": "udpreceive 9001"
    }
   },
   {
    "box": {
     "id": "obj-135",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "patching_rect": [
      740.0,
      70.0,
      476.8,
      22.0
     ],
     "text": "route /dream/threshold /dream/mix /dream/gain /dream/ceiling /dream/step"
    }
   },
   {
    "box": {
     "id": "obj-136",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      740.0,
      100.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-137",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      870.0,
      100.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-138",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1000.0,
      100.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-139",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1130.0,
      100.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-140",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1260.0,
      100.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-141",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "patching_rect": [
      740.0,
      144.0,
      502.40000000000003,
      22.0
     ],
     "text": "route /dream/power /dream/iterations /dream/flip /dream/freeze /dream/record"
    }
   },
   {
    "box": {
     "id": "obj-142",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      740.0,
      174.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-143",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      870.0,
      174.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-144",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1000.0,
      174.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-145",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1130.0,
      174.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-146",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1260.0,
      174.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-147",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "patching_rect": [
      740.0,
      218.0,
      560.0,
      22.0
     ],
     "text": "route /dream/mode /dream/layer /dream/target /dream/target_sound /dream/classes/count"
    }
   },
   {
    "box": {
     "id": "obj-148",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "int",
      ""
     ],
     "patching_rect": [
      740.0,
      248.0,
      80.0,
      22.0
     ],
     "text": "unpack i s"
    }
   },
   {
    "box": {
     "id": "obj-149",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      750.0,
      276.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-150",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "int",
      ""
     ],
     "patching_rect": [
      870.0,
      248.0,
      80.0,
      22.0
     ],
     "text": "unpack i s"
    }
   },
   {
    "box": {
     "id": "obj-151",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      880.0,
      276.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-152",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "int",
      ""
     ],
     "patching_rect": [
      1000.0,
      248.0,
      80.0,
      22.0
     ],
     "text": "unpack i s"
    }
   },
   {
    "box": {
     "id": "obj-153",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1010.0,
      276.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-154",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1020.0,
      304.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-155",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1130.0,
      248.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-156",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1260.0,
      248.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-157",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1260.0,
      276.0,
      49.0,
      22.0
     ],
     "text": "clear"
    }
   },
   {
    "box": {
     "id": "obj-158",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "patching_rect": [
      740.0,
      348.0,
      675.2,
      22.0
     ],
     "text": "route /dream/classes/match /dream/preset/save /dream/preset/load /dream/error /dream/status/input_class"
    }
   },
   {
    "box": {
     "id": "obj-159",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "int",
      ""
     ],
     "patching_rect": [
      740.0,
      378.0,
      80.0,
      22.0
     ],
     "text": "unpack i s"
    }
   },
   {
    "box": {
     "id": "obj-160",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      750.0,
      406.0,
      105.60000000000001,
      22.0
     ],
     "text": "prepend append"
    }
   },
   {
    "box": {
     "id": "obj-161",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      870.0,
      378.0,
      124.80000000000001,
      22.0
     ],
     "text": "prepend set saved"
    }
   },
   {
    "box": {
     "id": "obj-162",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1000.0,
      378.0,
      131.2,
      22.0
     ],
     "text": "prepend set loaded"
    }
   },
   {
    "box": {
     "id": "obj-163",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1130.0,
      378.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-164",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "outlettype": [
      "int",
      "float",
      ""
     ],
     "patching_rect": [
      1260.0,
      378.0,
      92.80000000000001,
      22.0
     ],
     "text": "unpack i f s"
    }
   },
   {
    "box": {
     "id": "obj-165",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1270.0,
      406.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-166",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1280.0,
      434.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-167",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1290.0,
      462.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-168",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "patching_rect": [
      740.0,
      506.0,
      867.2,
      22.0
     ],
     "text": "route /dream/status/output_class /dream/status/levels /dream/status/rate /dream/status/iterations /dream/status/iterations_per_sample"
    }
   },
   {
    "box": {
     "id": "obj-169",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "outlettype": [
      "int",
      "float",
      ""
     ],
     "patching_rect": [
      740.0,
      536.0,
      92.80000000000001,
      22.0
     ],
     "text": "unpack i f s"
    }
   },
   {
    "box": {
     "id": "obj-170",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      750.0,
      564.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-171",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      760.0,
      592.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-172",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      770.0,
      620.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-173",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "outlettype": [
      "float",
      "float"
     ],
     "patching_rect": [
      870.0,
      536.0,
      80.0,
      22.0
     ],
     "text": "unpack f f"
    }
   },
   {
    "box": {
     "id": "obj-174",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      880.0,
      564.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-175",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      890.0,
      592.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-176",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1000.0,
      536.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-177",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1130.0,
      536.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-178",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1260.0,
      536.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-179",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "patching_rect": [
      740.0,
      664.0,
      745.6,
      22.0
     ],
     "text": "route /dream/status/xruns /dream/status/latency /dream/status/recording /dream/status/dropped /dream/status/engine"
    }
   },
   {
    "box": {
     "id": "obj-180",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      740.0,
      694.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-181",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "float"
     ],
     "patching_rect": [
      870.0,
      694.0,
      60.800000000000004,
      22.0
     ],
     "text": "* 1000."
    }
   },
   {
    "box": {
     "id": "obj-182",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      870.0,
      722.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-183",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1000.0,
      694.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-184",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1130.0,
      694.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-185",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1260.0,
      694.0,
      86.4,
      22.0
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-186",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      740.0,
      766.0,
      176.0,
      22.0
     ],
     "text": "print dreamsound-unrouted"
    }
   }
  ],
  "lines": [
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-7",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-8",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-12",
      0
     ],
     "source": [
      "obj-11",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-12",
      0
     ],
     "source": [
      "obj-9",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-12",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-13",
      0
     ],
     "source": [
      "obj-11",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-14",
      0
     ],
     "source": [
      "obj-13",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-15",
      0
     ],
     "source": [
      "obj-14",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-15",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-18",
      0
     ],
     "source": [
      "obj-17",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-18",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-21",
      0
     ],
     "source": [
      "obj-20",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-21",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-25",
      0
     ],
     "source": [
      "obj-23",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-25",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-26",
      0
     ],
     "source": [
      "obj-24",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-26",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-30",
      0
     ],
     "source": [
      "obj-28",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-30",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-31",
      0
     ],
     "source": [
      "obj-29",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-31",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-35",
      0
     ],
     "source": [
      "obj-33",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-35",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-36",
      0
     ],
     "source": [
      "obj-34",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-36",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-40",
      0
     ],
     "source": [
      "obj-38",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-40",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-41",
      0
     ],
     "source": [
      "obj-39",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-41",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-44",
      0
     ],
     "source": [
      "obj-43",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-44",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-47",
      0
     ],
     "source": [
      "obj-46",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-47",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-50",
      0
     ],
     "source": [
      "obj-49",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-50",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-53",
      0
     ],
     "source": [
      "obj-52",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-53",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-55",
      0
     ],
     "source": [
      "obj-54",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-56",
      0
     ],
     "source": [
      "obj-55",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-57",
      0
     ],
     "source": [
      "obj-56",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-57",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-60",
      0
     ],
     "source": [
      "obj-59",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-61",
      0
     ],
     "source": [
      "obj-60",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-62",
      0
     ],
     "source": [
      "obj-61",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-62",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-67",
      0
     ],
     "source": [
      "obj-64",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-67",
      1
     ],
     "source": [
      "obj-65",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-68",
      0
     ],
     "source": [
      "obj-67",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-68",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-72",
      0
     ],
     "source": [
      "obj-70",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-72",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-75",
      0
     ],
     "source": [
      "obj-73",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-75",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-78",
      0
     ],
     "source": [
      "obj-76",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-78",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-83",
      0
     ],
     "source": [
      "obj-81",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-83",
      1
     ],
     "source": [
      "obj-80",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-84",
      0
     ],
     "source": [
      "obj-83",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-84",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-87",
      0
     ],
     "source": [
      "obj-85",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-87",
      1
     ],
     "source": [
      "obj-80",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-88",
      0
     ],
     "source": [
      "obj-87",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-88",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-91",
      0
     ],
     "source": [
      "obj-90",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-92",
      0
     ],
     "source": [
      "obj-91",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-93",
      0
     ],
     "source": [
      "obj-92",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-93",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-99",
      0
     ],
     "source": [
      "obj-97",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-100",
      0
     ],
     "source": [
      "obj-99",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-5",
      0
     ],
     "source": [
      "obj-100",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-135",
      0
     ],
     "source": [
      "obj-134",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-136",
      0
     ],
     "source": [
      "obj-135",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-23",
      0
     ],
     "source": [
      "obj-136",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-24",
      0
     ],
     "source": [
      "obj-136",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-137",
      0
     ],
     "source": [
      "obj-135",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-28",
      0
     ],
     "source": [
      "obj-137",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-29",
      0
     ],
     "source": [
      "obj-137",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-138",
      0
     ],
     "source": [
      "obj-135",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-33",
      0
     ],
     "source": [
      "obj-138",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-34",
      0
     ],
     "source": [
      "obj-138",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-139",
      0
     ],
     "source": [
      "obj-135",
      3
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-38",
      0
     ],
     "source": [
      "obj-139",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-39",
      0
     ],
     "source": [
      "obj-139",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-140",
      0
     ],
     "source": [
      "obj-135",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-43",
      0
     ],
     "source": [
      "obj-140",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-141",
      0
     ],
     "source": [
      "obj-135",
      5
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-142",
      0
     ],
     "source": [
      "obj-141",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-46",
      0
     ],
     "source": [
      "obj-142",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-143",
      0
     ],
     "source": [
      "obj-141",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-49",
      0
     ],
     "source": [
      "obj-143",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-144",
      0
     ],
     "source": [
      "obj-141",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-70",
      0
     ],
     "source": [
      "obj-144",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-145",
      0
     ],
     "source": [
      "obj-141",
      3
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-73",
      0
     ],
     "source": [
      "obj-145",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-146",
      0
     ],
     "source": [
      "obj-141",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-76",
      0
     ],
     "source": [
      "obj-146",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-147",
      0
     ],
     "source": [
      "obj-141",
      5
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-148",
      0
     ],
     "source": [
      "obj-147",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-149",
      0
     ],
     "source": [
      "obj-148",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-17",
      0
     ],
     "source": [
      "obj-149",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-150",
      0
     ],
     "source": [
      "obj-147",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-151",
      0
     ],
     "source": [
      "obj-150",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-20",
      0
     ],
     "source": [
      "obj-151",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-152",
      0
     ],
     "source": [
      "obj-147",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-153",
      0
     ],
     "source": [
      "obj-152",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-52",
      0
     ],
     "source": [
      "obj-153",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-154",
      0
     ],
     "source": [
      "obj-152",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-54",
      0
     ],
     "source": [
      "obj-154",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-155",
      0
     ],
     "source": [
      "obj-147",
      3
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-59",
      0
     ],
     "source": [
      "obj-155",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-156",
      0
     ],
     "source": [
      "obj-147",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-94",
      0
     ],
     "source": [
      "obj-156",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-157",
      0
     ],
     "source": [
      "obj-147",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-97",
      0
     ],
     "source": [
      "obj-157",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-158",
      0
     ],
     "source": [
      "obj-147",
      5
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-159",
      0
     ],
     "source": [
      "obj-158",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-160",
      0
     ],
     "source": [
      "obj-159",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-97",
      0
     ],
     "source": [
      "obj-160",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-161",
      0
     ],
     "source": [
      "obj-158",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-130",
      0
     ],
     "source": [
      "obj-161",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-162",
      0
     ],
     "source": [
      "obj-158",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-130",
      0
     ],
     "source": [
      "obj-162",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-163",
      0
     ],
     "source": [
      "obj-158",
      3
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-132",
      0
     ],
     "source": [
      "obj-163",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-164",
      0
     ],
     "source": [
      "obj-158",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-165",
      0
     ],
     "source": [
      "obj-164",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-102",
      0
     ],
     "source": [
      "obj-165",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-166",
      0
     ],
     "source": [
      "obj-164",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-103",
      0
     ],
     "source": [
      "obj-166",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-167",
      0
     ],
     "source": [
      "obj-164",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-105",
      0
     ],
     "source": [
      "obj-167",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-168",
      0
     ],
     "source": [
      "obj-158",
      5
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-169",
      0
     ],
     "source": [
      "obj-168",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-170",
      0
     ],
     "source": [
      "obj-169",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-107",
      0
     ],
     "source": [
      "obj-170",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-171",
      0
     ],
     "source": [
      "obj-169",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-108",
      0
     ],
     "source": [
      "obj-171",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-172",
      0
     ],
     "source": [
      "obj-169",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-110",
      0
     ],
     "source": [
      "obj-172",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-173",
      0
     ],
     "source": [
      "obj-168",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-174",
      0
     ],
     "source": [
      "obj-173",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-112",
      0
     ],
     "source": [
      "obj-174",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-175",
      0
     ],
     "source": [
      "obj-173",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-113",
      0
     ],
     "source": [
      "obj-175",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-176",
      0
     ],
     "source": [
      "obj-168",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-115",
      0
     ],
     "source": [
      "obj-176",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-177",
      0
     ],
     "source": [
      "obj-168",
      3
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-117",
      0
     ],
     "source": [
      "obj-177",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-178",
      0
     ],
     "source": [
      "obj-168",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-119",
      0
     ],
     "source": [
      "obj-178",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-179",
      0
     ],
     "source": [
      "obj-168",
      5
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-180",
      0
     ],
     "source": [
      "obj-179",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-123",
      0
     ],
     "source": [
      "obj-180",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-181",
      0
     ],
     "source": [
      "obj-179",
      1
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-182",
      0
     ],
     "source": [
      "obj-181",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-121",
      0
     ],
     "source": [
      "obj-182",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-183",
      0
     ],
     "source": [
      "obj-179",
      2
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-127",
      0
     ],
     "source": [
      "obj-183",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-184",
      0
     ],
     "source": [
      "obj-179",
      3
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-125",
      0
     ],
     "source": [
      "obj-184",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-185",
      0
     ],
     "source": [
      "obj-179",
      4
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-128",
      0
     ],
     "source": [
      "obj-185",
      0
     ]
    }
   },
   {
    "patchline": {
     "destination": [
      "obj-186",
      0
     ],
     "source": [
      "obj-179",
      5
     ]
    }
   }
  ]
 }
}
